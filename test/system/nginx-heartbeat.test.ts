import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSse, type SseSession } from '../helpers/sse-client.js';
import { NGINX_CONF, startNginx, startReplica, withApiLocation, type Nginx, type Replica } from './nginx-harness.js';

// The heartbeat is what keeps a quiet stream under a proxy's idle timeout (docs/deployment.md
// §2). Shrunk to fit a test: nginx's proxy_read_timeout at 1 s, a model that is silent for
// 2.5 s before its first token, and heartbeats every 250 ms — or practically never.

const SHORT_TIMEOUT_CONF = withApiLocation(NGINX_CONF, {
  remove: ['proxy_read_timeout 1h;'],
  add: ['proxy_read_timeout 1s;'],
});
const QUIET_MS = 2_500;

const started: { stop(): Promise<void> }[] = [];
const sessions: SseSession[] = [];
interface Stack {
  replica: Replica;
  nginx: Nginx;
}
let withHeartbeat: Stack;
let withoutHeartbeat: Stack;

async function stack(heartbeatMs: number): Promise<Stack> {
  // Each process is recorded the moment it is up, so afterAll stops it whatever fails next.
  const replica = await startReplica({ HEARTBEAT_MS: String(heartbeatMs), SIM_FIRST_TOKEN_MS: String(QUIET_MS), SIM_TOKENS_PER_SECOND: '50' });
  started.push(replica);
  const nginx = await startNginx(SHORT_TIMEOUT_CONF, [replica]);
  started.push(nginx);
  return { replica, nginx };
}

beforeAll(async () => {
  // allSettled: both stacks finish starting (and are recorded) before a failure is reported.
  const stacks = await Promise.allSettled([stack(250), stack(600_000)]);
  for (const s of stacks) if (s.status === 'rejected') throw s.reason;
  [withHeartbeat, withoutHeartbeat] = stacks.map((s) => (s as PromiseFulfilledResult<Stack>).value) as [Stack, Stack];
}, 60_000);

afterAll(async () => {
  for (const session of sessions) session.disconnect();
  await Promise.allSettled(started.map((p) => p.stop()));
}, 30_000);

const body = { messages: [{ role: 'user', content: 'Think first, then answer.' }], options: { simulate: { tokens: 5 } } };

describe('a quiet stream behind nginx with proxy_read_timeout 1s', () => {
  it('survives a 2.5 s silence because heartbeats keep the connection busy', async () => {
    const session = await postSse(`${withHeartbeat.nginx.url}/api/chat`, body);
    sessions.push(session);
    const frames = await session.ended;
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(5);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    // Heartbeats came through nginx during the silence (at 250 ms, several before the first token).
    expect(session.comments.filter((c) => c === 'hb').length).toBeGreaterThanOrEqual(3);
  }, 15_000);

  it('is cut by nginx when the server sends no heartbeat', async () => {
    const session = await postSse(`${withoutHeartbeat.nginx.url}/api/chat`, body);
    sessions.push(session);
    const opened = performance.now();
    // nginx ends the response after 1 s of silence; the client sees the body end early, or an
    // aborted connection, but never a token or `done`.
    await session.ended.catch(() => undefined);
    const endedAfter = performance.now() - opened;
    expect(session.frames.map((f) => f.type)).toEqual(['start']);
    expect(endedAfter).toBeLessThan(QUIET_MS);
    expect(withoutHeartbeat.nginx.errorLog()).toMatch(/upstream timed out/);
  }, 15_000);
});
