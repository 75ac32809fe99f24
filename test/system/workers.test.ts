import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { getSse, postSse, type SseSession } from '../helpers/sse-client.js';
import { freePort, launch, waitForHealthy, type Proc } from './nginx-harness.js';

// `WORKERS=2` with REDIS_URL runs two node:cluster workers on one port; the
// streams of a worker that dies are still there to resume through the other.

let redis: RedisServer;
let server: Proc;
let url: string;
const sessions: SseSession[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const port = await freePort();
  server = launch(process.execPath, ['--import', 'tsx', 'server/standalone/main.ts'], {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'silent',
    WORKERS: '2',
    REDIS_URL: redis.url,
    SIM_TOKENS_PER_SECOND: '100',
    SIM_FIRST_TOKEN_MS: '0',
    OWNER_LEASE_MS: '1000',
  });
  url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${url}/healthz`, server, 'WORKERS=2', 30_000);
}, 40_000);

afterAll(async () => {
  for (const session of sessions) session.disconnect();
  await server?.stop(5_000);
  await redis?.stop();
}, 20_000);

type Start = Extract<ServerFrame, { type: 'start' }>;
const pidOf = (instanceId: string) => Number(instanceId.split(':').at(-1));
const chat = (tokens: number) => ({ messages: [{ role: 'user', content: 'Tell me a story.' }], options: { simulate: { tokens }, resumeGraceMs: 30_000 } });

/** Distinct instances that answer /healthz on fresh connections (the primary spreads connections over workers). */
async function instances(tries: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < tries && seen.size < 2; i++) {
    const res = await fetch(`${url}/healthz`, { headers: { connection: 'close' } });
    seen.add(((await res.json()) as { instance: string }).instance);
  }
  return seen;
}

/** Resumes from `lastSeq` until a worker other than `not` answers; returns every frame to the done. */
async function resumeToDone(first: Start, lastSeq: number, not: string): Promise<{ frames: ServerFrame[]; instance: string }> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const session = await getSse(`${url}/api/streams/${first.streamId}?token=${first.streamToken}`, { 'last-event-id': String(lastSeq), connection: 'close' }).catch(() => undefined);
    if (!session) continue;
    sessions.push(session);
    const instance = String(session.headers['x-tokenwire-instance']);
    if (session.status !== 200 || instance === not) {
      session.disconnect();
      continue;
    }
    return { frames: await session.ended, instance };
  }
  throw new Error('no other worker answered');
}

describe('WORKERS=2 with REDIS_URL (node:cluster)', () => {
  it('serves from two worker processes on one port', async () => {
    // Healthy as soon as one worker listens; the other follows.
    const seen = await waitFor(async () => ((await instances(10)).size === 2 ? true : undefined), 'two workers answering', 20_000);
    expect(seen).toBe(true);
  });

  it('/metrics answers for every worker, whichever worker takes the scrape', async () => {
    const started = 6;
    for (let i = 0; i < started; i++) {
      // A fresh connection each: the primary hands them to both workers.
      const session = await postSse(`${url}/api/chat`, chat(3), { connection: 'close' });
      sessions.push(session);
      await session.ended;
    }
    const scrapes: { instance: string; started: number; connections: number }[] = [];
    for (let i = 0; i < 12 && new Set(scrapes.map((s) => s.instance)).size < 2; i++) {
      const res = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
      const text = await res.text();
      const series = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
      scrapes.push({ instance: String(res.headers.get('x-tokenwire-instance')), started: series('tokenwire_streams_started_total'), connections: series('tokenwire_connections_open') });
    }
    // Two workers took scrapes, and each answered the fleet's count, not its own.
    expect(new Set(scrapes.map((s) => s.instance)).size).toBe(2);
    expect(scrapes.map((s) => s.started)).toEqual(scrapes.map(() => started));
  });

  it('a worker killed with SIGKILL: its stream is resumed through the other, which ends it with owner_lost; the primary starts a new worker', async () => {
    const session = await postSse(`${url}/api/chat`, chat(100_000), { connection: 'close' });
    sessions.push(session);
    const first = (await session.waitForFrame((f) => f.type === 'start')) as Start;
    await session.waitForFrame((f) => f.type === 'token');
    process.kill(pidOf(first.instanceId as string), 'SIGKILL');
    await session.ended.catch(() => undefined);
    const lastSeq = session.frames.at(-1)!.seq;
    const { frames } = await resumeToDone(first, lastSeq, first.instanceId as string);
    expect(frames[0]?.seq).toBe(lastSeq + 1);
    expect(frames.at(-2)).toMatchObject({ type: 'error', code: 'owner_lost', retryable: true });
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'error' });
    // The primary forks a new worker: two instances answer again, the killed one not among them.
    const now = await waitFor(async () => {
      const seen = await instances(10);
      return seen.size === 2 ? seen : undefined;
    }, 'two workers again', 20_000);
    expect(now.has(first.instanceId as string)).toBe(false);
  });

  it('a worker stopped gracefully (SIGTERM): every frame of its stream is resumable through the other, 0 lost, 0 duplicated', async () => {
    // A connection the primary handed to the worker that was killed just before may be reset
    // (node:cluster's round robin); a client tries again, and so does this one, a few times.
    const session = await waitFor(() => postSse(`${url}/api/chat`, chat(100_000), { connection: 'close' }).catch(() => undefined), 'a stream started');
    sessions.push(session);
    const first = (await session.waitForFrame((f) => f.type === 'start')) as Start;
    await session.waitForFrame((f) => f.seq >= 10);
    process.kill(pidOf(first.instanceId as string), 'SIGTERM');
    await session.ended.catch(() => undefined);
    const before = session.frames.filter((f) => f.type !== 'error' || f.code !== 'slow_consumer');
    const { frames } = await resumeToDone(first, before.at(-1)!.seq, first.instanceId as string).catch(async () => ({ frames: [] as ServerFrame[] }));
    const all = [...before, ...frames];
    const seqs = all.map((f) => f.seq);
    const done = all.find((f) => f.type === 'done')!;
    expect(done).toBeDefined();
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(Array.from({ length: done.seq + 1 }, (_, i) => i));
    expect(all.find((f) => f.type === 'error')).toMatchObject({ code: 'server_shutdown', retryable: true });
  });
});
