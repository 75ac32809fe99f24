import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { k6Binary } from './k6-binary.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface K6Run {
  /** k6's exit code: 0 passed, 99 a threshold failed (checks included), other codes: k6 failed. */
  code: number;
  /** The end-of-test summary as k6 printed it (no colours). */
  summary: string;
  stderr: string;
}

/**
 * Runs one script to its end with `-e` settings; resolves with the exit code, never rejects on
 * it. Rejects when there is no k6 to run it with (`k6Binary`'s message says how to get one).
 */
export async function runK6(script: string, env: Record<string, string>, timeoutMs: number): Promise<K6Run> {
  const k6 = await k6Binary();
  const args = ['run', '--quiet', '--no-color', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), join(root, script)];
  return new Promise((resolve, reject) => {
    execFile(k6, args, { cwd: root, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } }, (error, stdout, stderr) => {
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
