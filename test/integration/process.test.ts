import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { runServerProcess } from '../helpers/server-process.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(env: Record<string, string>) {
  const proc = runServerProcess(env);
  children.push(proc.child);
  return proc;
}

describe('the server process', () => {
  it('exits with code 2 and names the variable when the configuration is bad', async () => {
    const proc = run({ PORT: 'eighty', HEARTBEAT_MS: '-5' });
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toMatch(/PORT="eighty"/);
    expect(proc.output().stderr).toMatch(/HEARTBEAT_MS="-5"/);
  });

  it('on SIGTERM drains: an answer that fits in SHUTDOWN_TIMEOUT_MS finishes whole, one that cannot ends with server_shutdown and done, and the process exits 0', async () => {
    const proc = run({ SIM_TOKENS_PER_SECOND: '20', SIM_FIRST_TOKEN_MS: '0', SHUTDOWN_TIMEOUT_MS: '3000' });
    const url = await proc.listening;
    const ask = (tokens: number) => postSse(`${url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens } } });
    // About 1 s of answer left at SIGTERM, against 50 s.
    const [short, long] = await Promise.all([ask(24), ask(1000)]);
    await Promise.all([short.waitForFrame((f) => f.type === 'token'), long.waitForFrame((f) => f.type === 'token')]);
    proc.child.kill('SIGTERM');
    // The port stays open while answers drain: readiness says 503, and the long answer can be
    // resumed here (a client whose connection blipped).
    const start = (await long.waitForFrame((f) => f.type === 'start')) as Extract<ServerFrame, { type: 'start' }>;
    const ready = await waitFor(async () => {
      const answer = await fetch(`${url}/readyz`);
      return answer.status === 503 ? answer : undefined;
    }, '/readyz 503 while draining');
    expect(ready.status).toBe(503);
    const resumed = await getSse(`${url}/api/streams/${start.streamId}?token=${start.streamToken}`, { 'last-event-id': '0' });
    expect(await resumed.waitForFrame((f) => f.type === 'token')).toMatchObject({ type: 'token' });
    resumed.disconnect();
    const finished = await short.ended;
    expect(finished.filter((f) => f.type === 'token')).toHaveLength(24);
    expect(finished.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    const cut = await long.ended;
    expect(cut.slice(-2).map((f) => f.type)).toEqual(['error', 'done']);
    expect(cut.at(-2)).toMatchObject({ code: 'server_shutdown', retryable: true });
    expect(await proc.exited).toBe(0);
  });
});
