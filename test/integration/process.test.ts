import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { postSse } from '../helpers/sse-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs the real entry point in its own process, as `npm start` does after a build. */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', () => {
      const url = /"url":"(http:[^"]+)"/.exec(stdout)?.[1];
      if (url) resolve(url);
    });
    void exited.then(() => reject(new Error(`exited before listening: ${stderr}`)));
  });
  listening.catch(() => {});
  return { child, exited, listening, output: () => ({ stdout, stderr }) };
}

describe('the server process', () => {
  it('exits with code 2 and names the variable when the configuration is bad', async () => {
    const proc = run({ PORT: 'eighty', HEARTBEAT_MS: '-5' });
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toMatch(/PORT="eighty"/);
    expect(proc.output().stderr).toMatch(/HEARTBEAT_MS="-5"/);
  });

  it('on SIGTERM ends open streams with server_shutdown and done, and exits 0', async () => {
    const proc = run({ SIM_TOKENS_PER_SECOND: '5', SIM_FIRST_TOKEN_MS: '0', SHUTDOWN_TIMEOUT_MS: '3000' });
    const url = await proc.listening;
    const session = await postSse(`${url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 1000 } } });
    await session.waitForFrame((f) => f.type === 'token');
    proc.child.kill('SIGTERM');
    const frames = await session.ended;
    expect(frames.slice(-2).map((f) => f.type)).toEqual(['error', 'done']);
    expect(frames.at(-2)).toMatchObject({ code: 'server_shutdown', retryable: true });
    expect(await proc.exited).toBe(0);
  });
});
