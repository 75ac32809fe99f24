import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The k6 build with xk6-sse that ../shared/tools carries beside every clone on CI and these
// machines (its README gives the sha256 of the unpacked binary).
const BUNDLED = join(root, '../shared/tools/k6-v0.49.0-xk6-sse-linux-amd64.gz');
const BUNDLED_SHA256 = 'd248dbba1d99a2b3860dddf1e6c15a751ce9ac5a31953caaafcbbee5906a019a';

/**
 * The path of a k6 binary with the k6/x/sse extension: $K6_BIN when set, else the bundled one,
 * unpacked once into the ignored .node/ folder and checked against its sha256.
 * Throws, saying how to get one, when neither exists.
 */
export function k6Binary(): string {
  if (process.env.K6_BIN) return process.env.K6_BIN;
  const target = join(root, '.node/k6-v0.49.0-xk6-sse');
  if (existsSync(target)) return target;
  if (!existsSync(BUNDLED)) {
    throw new Error(`no k6: set K6_BIN to a k6 built with xk6-sse (load/k6/README.md), or put ${BUNDLED} in place`);
  }
  const binary = gunzipSync(readFileSync(BUNDLED));
  const sha = createHash('sha256').update(binary).digest('hex');
  if (sha !== BUNDLED_SHA256) throw new Error(`${BUNDLED}: sha256 ${sha}, expected ${BUNDLED_SHA256}`);
  mkdirSync(join(root, '.node'), { recursive: true });
  writeFileSync(`${target}.tmp`, binary);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  return target;
}

export interface K6Run {
  /** k6's exit code: 0 passed, 99 a threshold failed (checks included), other codes: k6 failed. */
  code: number;
  /** The end-of-test summary as k6 printed it (no colours). */
  summary: string;
  stderr: string;
}

/** Runs one script to its end with `-e` settings; resolves with the exit code, never rejects on it. */
export function runK6(script: string, env: Record<string, string>, timeoutMs: number): Promise<K6Run> {
  const args = ['run', '--quiet', '--no-color', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), join(root, script)];
  return new Promise((resolve, reject) => {
    execFile(k6Binary(), args, { cwd: root, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && code === -1) reject(new Error(`k6 ${script}: ${error.message}\n${stderr}`));
      else resolve({ code, summary: stdout, stderr });
    });
  });
}

/** The summary's lines for checks and the tw_* metrics, for the CI log. */
export function summaryLines(summary: string): string[] {
  return summary.split('\n').filter((line) => /checks|tw_|http_req_failed|iterations\.\./.test(line)).map((line) => line.trimEnd());
}
