import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findK6, type K6Lookup } from '../helpers/k6-binary.js';

// The lookup runs real executables: small shell scripts standing in for k6, go and xk6. The real
// k6 is test/system/k6.test.ts's; k6-missing.test.ts runs that file on a machine with none.
const root = fileURLToPath(new URL('../..', import.meta.url));
/** `inspect` exits 0: this "k6" can import 'k6/x/sse'. */
const K6_WITH_SSE = 'case "$1" in inspect) exit 0;; esac\nexit 1';
/** `inspect` fails as k6 does on an unknown module. */
const K6_WITHOUT_SSE = 'echo "GoError: unknown module: k6/x/sse" >&2\nexit 107';

let dir: string;
const script = (path: string, body: string): string => {
  writeFileSync(path, `#!/bin/sh\nPATH=/usr/bin:/bin\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
/** A folder for PATH holding the given executables. */
const bin = (name: string, executables: Record<string, string>): string => {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, body] of Object.entries(executables)) script(join(folder, file), body);
  return folder;
};
const lookup = (env: Record<string, string | undefined>, bundledSha = 'none'): K6Lookup => ({
  env,
  bundled: { path: join(dir, 'shared/tools/k6.gz'), sha256: bundledSha },
  cacheDir: join(dir, 'clone/.node'),
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tw-k6-lookup-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('findK6', () => {
  it('takes K6_BIN first, even with another k6 on PATH', async () => {
    const given = script(join(dir, 'my-k6'), K6_WITH_SSE);
    const path = bin('path', { k6: K6_WITH_SSE });
    expect(await findK6(lookup({ K6_BIN: given, PATH: path }))).toBe(given);
  });

  it('refuses a K6_BIN without the extension, saying so and how to get one', async () => {
    const given = script(join(dir, 'stock-k6'), K6_WITHOUT_SSE);
    await expect(findK6(lookup({ K6_BIN: given, PATH: '' }))).rejects.toThrow(`K6_BIN=${given} cannot import 'k6/x/sse'`);
    await expect(findK6(lookup({ K6_BIN: join(dir, 'nothing'), PATH: '' }))).rejects.toThrow(/is not an executable file[\s\S]*xk6 build/);
  });

  it('takes a k6 on PATH that has the extension', async () => {
    const path = bin('path', { k6: K6_WITH_SSE });
    expect(await findK6(lookup({ PATH: `${join(dir, 'empty')}:${path}` }))).toBe(join(path, 'k6'));
  });

  it('passes over a stock k6 on PATH to the bundled build, unpacked and sha256-checked', async () => {
    const binary = Buffer.from(`#!/bin/sh\n${K6_WITH_SSE}\n`);
    mkdirSync(join(dir, 'shared/tools'), { recursive: true });
    writeFileSync(join(dir, 'shared/tools/k6.gz'), gzipSync(binary));
    const sha = createHash('sha256').update(binary).digest('hex');
    const path = bin('path', { k6: K6_WITHOUT_SSE });

    const k6 = await findK6(lookup({ PATH: path }, sha));
    expect(k6).toBe(join(dir, 'clone/.node/k6-v0.49.0-xk6-sse'));
    expect(readFileSync(k6)).toEqual(binary);
    rmSync(k6);
    await expect(findK6(lookup({ PATH: path }, 'f'.repeat(64)))).rejects.toThrow(`sha256 ${sha}, expected ${'f'.repeat(64)}`);
  });

  it('with nothing to find or build, fails with one message that says how to get k6 and names no path of this clone', async () => {
    const path = bin('path', { k6: K6_WITHOUT_SSE });
    const error = await findK6(lookup({ PATH: path })).then(
      () => new Error('found a k6'),
      (e: Error) => e,
    );
    expect(error.message).toContain(`  - K6_BIN is not set\n  - the k6 on PATH (${join(path, 'k6')}) cannot import 'k6/x/sse'\n  - no go on PATH to build one with xk6\n`);
    expect(error.message).toContain('go install go.k6.io/xk6/cmd/xk6@latest');
    expect(error.message).toContain('build v0.49.0 --with github.com/phymbert/xk6-sse@v0.1.2');
    expect(error.message).toContain('K6_BIN="$HOME/k6-build/k6" ./tokenwire test');
    for (const local of [root, 'shared/tools', '.node', dir]) expect(error.message.replace(path, '')).not.toContain(local);
  });

  it('builds one with xk6 when go is on PATH, into the cache, and finds it there next time without go', async () => {
    const calls = join(dir, 'xk6-calls');
    // go install writes an xk6 into $GOBIN; that xk6 writes a k6 with the extension to --output.
    const xk6 = `echo "$@" >> ${calls}\nwhile [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done\nprintf '#!/bin/sh\\nexit 0\\n' > "$out" && chmod +x "$out"`;
    const go = `[ "$1 $2" = "install go.k6.io/xk6/cmd/xk6@latest" ] || exit 2\ncat > "$GOBIN/xk6" <<'XK6'\n#!/bin/sh\nPATH=/usr/bin:/bin\n${xk6}\nXK6\nchmod +x "$GOBIN/xk6"`;
    const path = bin('path', { go });

    const k6 = await findK6(lookup({ PATH: path }));
    expect(k6).toBe(join(dir, 'clone/.node/k6-xk6-sse'));
    expect(readFileSync(calls, 'utf8')).toBe(`build v0.49.0 --with github.com/phymbert/xk6-sse@v0.1.2 --output ${k6}.tmp\n`);
    expect(await findK6(lookup({ PATH: '' }))).toBe(k6);
  });

  it('says the build failed, and why, when go cannot fetch xk6 (offline)', async () => {
    const path = bin('path', { go: 'echo "dial tcp: lookup proxy.golang.org: no such host" >&2\nexit 1' });
    await expect(findK6(lookup({ PATH: path }))).rejects.toThrow(
      /- go install go\.k6\.io\/xk6\/cmd\/xk6@latest failed \(offline\?\): dial tcp: lookup proxy\.golang\.org: no such host\n[\s\S]*K6_BIN=/,
    );
  });
});
