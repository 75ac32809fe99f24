import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A machine with no k6 anywhere: test/system/k6.test.ts must fail, every k6 test with the message
// that says how to get one. A beforeAll that threw would report its tests as skipped instead.
const root = fileURLToPath(new URL('../..', import.meta.url));

interface AssertionResult {
  title: string;
  status: string;
  failureMessages: string[];
}

let dir: string;
let exitCode: number;
let results: AssertionResult[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-no-k6-'));
  // PATH holds node and nothing else: no k6, no go. The empty "clone root" has no bundled build and no .node/.
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'clone'));
  symlinkSync(process.execPath, join(dir, 'bin/node'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'K6_BIN' && !key.startsWith('VITEST')));
  Object.assign(env, { PATH: join(dir, 'bin'), TOKENWIRE_K6_TEST_ROOT: join(dir, 'clone') });
  const report = join(dir, 'report.json');
  const args = [join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/system/k6.test.ts', '--reporter=json', `--outputFile=${report}`];
  exitCode = await new Promise<number>((resolve) => {
    execFile(process.execPath, args, { cwd: root, env, timeout: 60_000 }, (error) => resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0));
  });
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: AssertionResult[] }[] };
  results = parsed.testResults.flatMap((file) => file.assertionResults);
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the k6 tests on a machine without k6', () => {
  it('fail (none skipped), every k6 run with the message that says how to get k6 with xk6-sse', () => {
    expect(exitCode).toBe(1);
    const runs = results.filter((r) => r.title !== 'finds every script');
    expect(runs.length).toBeGreaterThanOrEqual(7);
    expect(results.filter((r) => r.status !== 'passed' && r.status !== 'failed')).toEqual([]);
    for (const run of runs) {
      expect(run.status, run.title).toBe('failed');
      expect(run.failureMessages.join('\n')).toContain("The k6 tests need k6 with the xk6-sse extension (scripts import 'k6/x/sse'), and none was found");
      expect(run.failureMessages.join('\n')).toContain('K6_BIN="$HOME/k6-build/k6" ./tokenwire test');
    }
  });

  it('names no path of this checkout or workspace in the message', () => {
    const message = results.find((r) => r.status === 'failed')!.failureMessages[0]!.split('\n    at ')[0]!;
    expect(message).toContain('no go on PATH to build one with xk6');
    for (const local of [root, 'shared/tools', '.node/', dir]) expect(message).not.toContain(local);
  });
});
