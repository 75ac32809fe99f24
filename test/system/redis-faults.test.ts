import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getSse, postSse, type SseSession } from '../helpers/sse-client.js';
import { startTcpValve, type TcpValve } from '../helpers/tcp-valve.js';
import { connectWs, type WsTestClient } from '../helpers/ws-client.js';

// Faults of the Redis store against a real redis-server, with tokenwire instances in this
// process: a subscriber that reconnects, an owner that is frozen or dead, a log trimmed while a
// view was away, Redis out of memory, Redis frozen, Redis restarted without persistence.

type Start = Extract<ServerFrame, { type: 'start' }>;
type ToolCall = Extract<ServerFrame, { type: 'tool_call' }>;

const chat = (tokens: number) => ({ messages: [{ role: 'user', content: 'Tell me a story.' }], options: { simulate: { tokens }, resumeGraceMs: 30_000 } });
const weather = { messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'], options: { resumeGraceMs: 30_000 } };
const base = (redis: RedisServer | string, instance: string, extra: Record<string, string> = {}) => ({
  REDIS_URL: typeof redis === 'string' ? redis : redis.url,
  INSTANCE_ID: instance,
  OWNER_LEASE_MS: '1000',
  SIM_TOKENS_PER_SECOND: '100',
  STREAM_STARTS_PER_MINUTE: '100000',
  ...extra,
});

const sessions: SseSession[] = [];
const sockets: WsTestClient[] = [];
afterAll(() => {
  for (const session of sessions) session.disconnect();
  for (const socket of sockets) socket.ws.terminate();
});

async function open(url: string, body: unknown): Promise<{ session: SseSession; start: Start }> {
  const session = await postSse(`${url}/api/chat`, body);
  sessions.push(session);
  expect(session.status, `POST ${url}/api/chat`).toBe(200);
  const start = (await session.waitForFrame((f) => f.type === 'start')) as Start;
  return { session, start };
}

async function resume(url: string, start: Start, afterSeq: number): Promise<SseSession> {
  const session = await getSse(`${url}/api/streams/${start.streamId}?token=${start.streamToken}`, { 'last-event-id': String(afterSeq) });
  sessions.push(session);
  return session;
}

/** A request's status, error code and Retry-After, and how long it took (ms). */
async function ask(url: string, init: RequestInit = {}): Promise<{ status: number; code: string | undefined; retryAfter: string | null; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started };
}

const approve = (url: string, call: ToolCall, start: Start) =>
  ask(`${url}/api/approvals/${call.callId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stream-token': start.streamToken as string }, body: JSON.stringify({ decision: 'approve' }) });
const cancel = (url: string, start: Start) => ask(`${url}/api/streams/${start.streamId}`, { method: 'DELETE', headers: { 'x-stream-token': start.streamToken as string } });

/** Closes a Redis client connection by its name (CLIENT KILL): ioredis reconnects about 100 ms later. */
async function killClient(admin: Redis, name: string): Promise<boolean> {
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1] as string);
  for (const id of ids) await admin.client('KILL', 'ID', id);
  return ids.length > 0;
}

/** Waits until the instance's /healthz says its store is back (a start is refused while its subscriber reconnects). */
const storeBack = (server: TestServer) =>
  waitFor(async () => ((await (await fetch(`${server.url}/healthz`)).json()) as { store: string }).store === 'redis', `the store back on ${server.url}`);

/** True when the seqs follow each other without a gap. */
const contiguous = (frames: ServerFrame[]) => frames.every((f, i) => i === 0 || f.seq === (frames[i - 1] as ServerFrame).seq + 1);

describe('control through Redis is acknowledged: applied by the owner, or answered retryable', () => {
  let redis: RedisServer;
  let admin: Redis;
  let valve: TcpValve;
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    valve = await startTcpValve({ host: '127.0.0.1', port: redis.port });
    [a, b, c] = await Promise.all([
      startServer(base(redis, 'a')),
      startServer(base(redis, 'b')),
      // C reaches Redis through a valve, so it can be frozen; its lease outlives the freeze.
      startServer(base(`redis://127.0.0.1:${valve.port}`, 'c', { OWNER_LEASE_MS: '10000' })),
    ]);
  });
  afterAll(async () => {
    valve?.thaw();
    await Promise.allSettled([a?.close(), b?.close(), c?.close()]);
    admin?.disconnect();
    await valve?.close();
    await redis?.stop();
  });

  it("a cancel through the other instance while the owner's subscriber reconnects is applied or answered retryable, never 200 and lost", async () => {
    const outcomes = { applied: 0, retryable: 0, lost: 0 };
    for (let i = 0; i < 5; i++) {
      const { session, start } = await open(a.url, chat(100_000));
      await session.waitForFrame((f) => f.type === 'token');
      expect(await killClient(admin, 'tokenwire:a:sub')).toBe(true);
      const answer = await cancel(b.url, start);
      if (answer.status === 200) {
        const done = await session.waitForFrame((f) => f.type === 'done', 2_000).catch(() => undefined);
        outcomes[done?.type === 'done' && done.reason === 'cancelled' ? 'applied' : 'lost']++;
      } else {
        expect([answer.status, answer.code, answer.retryAfter]).toEqual([503, 'store_unavailable', '1']);
        outcomes.retryable++;
      }
      session.disconnect();
      await storeBack(a);
    }
    console.log(`[redis-faults] cancel during the owner's subscriber reconnect: ${JSON.stringify(outcomes)}`);
    expect(outcomes.lost).toBe(0);
  });

  it("an approval through the other instance while the owner's subscriber reconnects runs the tool, or is answered retryable and a retry runs it", async () => {
    const outcomes = { applied: 0, retried: 0, lost: 0 };
    for (let i = 0; i < 5; i++) {
      const { session, start } = await open(a.url, weather);
      const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
      expect(await killClient(admin, 'tokenwire:a:sub')).toBe(true);
      let answer = await approve(b.url, call, start);
      if (answer.status !== 200) {
        expect([answer.status, answer.code]).toEqual([503, 'store_unavailable']);
        outcomes.retried++;
        answer = await waitFor(async () => {
          const again = await approve(b.url, call, start);
          return again.status === 503 ? undefined : again;
        }, 'a retried approval that is not 503');
      }
      expect(answer.status).toBe(200);
      const result = await session.waitForFrame((f) => f.type === 'tool_result', 2_000).catch(() => undefined);
      if (result) outcomes.applied++;
      else outcomes.lost++;
      session.disconnect();
      await storeBack(a);
    }
    console.log(`[redis-faults] approval during the owner's subscriber reconnect: ${JSON.stringify(outcomes)}`);
    expect(outcomes.lost).toBe(0);
  });

  it('a frozen owner: the decision is answered 503 within 2.5 s, not recorded, and a retry after it thaws runs the tool', async () => {
    const { session, start } = await open(c.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    valve.freeze();
    const frozen = await approve(b.url, call, start);
    console.log(`[redis-faults] approval for a frozen owner: ${frozen.status} ${frozen.code} after ${frozen.ms.toFixed(0)} ms`);
    expect([frozen.status, frozen.code, frozen.retryAfter]).toEqual([503, 'store_unavailable', '1']);
    expect(frozen.ms).toBeLessThan(2_500);
    expect(await admin.hget(`tw:call:${call.callId}`, 'state')).toBe('pending');
    valve.thaw();
    const retried = await waitFor(async () => {
      const again = await approve(b.url, call, start);
      return again.status === 503 ? undefined : again;
    }, 'a retry that is not 503');
    expect(retried.status).toBe(200);
    expect(await session.waitForFrame((f) => f.type === 'tool_result', 2_000)).toMatchObject({ ok: true, callId: call.callId });
    await session.ended;
  });

  it('a dead owner (its lease gone): decisions and cancels get 503 owner_lost at once, and nothing is recorded', async () => {
    const { session, start } = await open(c.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    const owner = (await admin.hget(`tw:meta:${start.streamId}`, 'owner')) as string;
    valve.freeze();
    expect(await admin.del(`tw:lease:${owner}`)).toBe(1);
    const decided = await approve(b.url, call, start);
    const cancelled = await cancel(b.url, start);
    expect([decided.status, decided.code]).toEqual([503, 'owner_lost']);
    expect([cancelled.status, cancelled.code]).toEqual([503, 'owner_lost']);
    expect(await admin.hget(`tw:call:${call.callId}`, 'state')).toBe('pending');
    valve.thaw();
    session.disconnect();
  });
});

describe('a live view never skips frames', () => {
  let redis: RedisServer;
  let admin: Redis;
  let valve: TcpValve;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    valve = await startTcpValve({ host: '127.0.0.1', port: redis.port });
    const fast = { SIM_TOKENS_PER_SECOND: '400', STREAM_MAX_FRAMES: '64' };
    [a, b] = await Promise.all([startServer(base(redis, 'a', fast)), startServer(base(`redis://127.0.0.1:${valve.port}`, 'b', fast))]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    admin?.disconnect();
    await valve?.close();
    await redis?.stop();
  });

  it("the log trimmed while the viewer's subscriber reconnected: the view ends with stream_expired naming the first kept seq, without a gap", async () => {
    const { session, start } = await open(a.url, chat(3_000));
    await session.waitForFrame((f) => f.type === 'token');
    const view = await resume(b.url, start, (session.frames.at(-1) as ServerFrame).seq);
    await view.waitForFrame((f) => f.type === 'token');
    // B's subscriber goes and cannot come back until the log has moved well past what it keeps.
    valve.refusing = true;
    expect(await killClient(admin, 'tokenwire:b:sub')).toBe(true);
    const from = (view.frames.at(-1) as ServerFrame).seq;
    await session.waitForFrame((f) => f.seq > from + 200);
    valve.refusing = false;
    const frames = await view.ended;
    const end = frames.slice(-2);
    console.log(`[redis-faults] trimmed during a reconnect: the view got ${frames.length} frames, contiguous ${contiguous(frames)}, ended ${end.map((f) => (f.type === 'error' ? f.code : f.type === 'done' ? f.reason : f.type)).join(', ')}`);
    expect(contiguous(frames)).toBe(true);
    expect(end).toMatchObject([{ type: 'error', code: 'stream_expired', retryable: false }, { type: 'done', reason: 'error' }]);
    const firstKept = Number(/first one kept is seq (\d+)/.exec((end[0] as { message: string }).message)?.[1]);
    expect(firstKept).toBeGreaterThan(from + 2);
    session.disconnect();
  });
});

describe('Redis out of memory (maxmemory, noeviction)', () => {
  let redis: RedisServer;
  let admin: Redis;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    redis = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    admin = new Redis(redis.url);
    [a, b] = await Promise.all([startServer(base(redis, 'a')), startServer(base(redis, 'b'))]);
  });
  afterAll(async () => {
    await admin?.config('SET', 'maxmemory', '0').catch(() => undefined);
    await Promise.allSettled([a?.close(), b?.close()]);
    admin?.disconnect();
    await redis?.stop();
  });

  it('refused writes end streams with a retryable error and done (never owner_lost), new starts get 503, resumes answer at once, and the logs get their done once writes are possible', async () => {
    const opened = await Promise.all([0, 1, 2, 3].map(() => open(a.url, chat(100_000))));
    await Promise.all(opened.map(({ session }) => session.waitForFrame((f) => f.type === 'token')));
    const remote = await resume(b.url, opened[0]!.start, (opened[0]!.session.frames.at(-1) as ServerFrame).seq);
    await remote.waitForFrame((f) => f.type === 'token');
    const owner = (await admin.hget(`tw:meta:${opened[0]!.start.streamId}`, 'owner')) as string;

    await admin.config('SET', 'maxmemory', '1');
    const ends = await Promise.all(opened.map(({ session }) => session.ended.then((frames) => frames.slice(-2))));
    const remoteEnd = (await remote.ended).slice(-2);
    console.log(`[redis-faults] out of memory: the streams ended ${ends.map((e) => (e[0]?.type === 'error' ? e[0].code : e[0]?.type)).join(', ')}; the remote view ${remoteEnd[0]?.type === 'error' ? remoteEnd[0].code : remoteEnd[0]?.type}`);
    for (const end of [...ends, remoteEnd]) expect(end).toMatchObject([{ type: 'error', code: 'store_unavailable', retryable: true }, { type: 'done', reason: 'error' }]);
    expect(await admin.exists(`tw:lease:${owner}`)).toBe(1);

    for (const url of [a.url, b.url]) {
      const refused = await ask(`${url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat(3)) });
      expect([refused.status, refused.code, refused.retryAfter]).toEqual([503, 'store_unavailable', '1']);
    }
    // On the owner a resume gets every frame up to the done at once, the refused ones from memory.
    const onOwner = await resume(a.url, opened[1]!.start, 0);
    const ownerFrames = await Promise.race([onOwner.ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resume on the owner hangs')), 2_000))]);
    expect(contiguous(ownerFrames)).toBe(true);
    expect(ownerFrames.at(-1)).toMatchObject({ type: 'done', reason: 'error' });
    // Elsewhere it is a typed answer at once while the tail is not in Redis: the metadata says so.
    expect(await admin.hget(`tw:meta:${opened[2]!.start.streamId}`, 'refused')).toMatch(/^\d+$/);
    const elsewhere = await ask(`${b.url}/api/streams/${opened[2]!.start.streamId}?token=${opened[2]!.start.streamToken}`, { headers: { 'last-event-id': '0' } });
    expect([elsewhere.status, elsewhere.code]).toEqual([503, 'store_unavailable']);

    await admin.config('SET', 'maxmemory', '0');
    for (const { start } of opened) {
      await waitFor(async () => {
        const [last] = await admin.xrevrange(`tw:log:${start.streamId}`, '+', '-', 'COUNT', 1);
        return last?.[1][1]?.startsWith('{"type":"done"');
      }, `the done of ${start.streamId} in Redis`);
    }
    await waitFor(async () => (await admin.hget(`tw:meta:${opened[2]!.start.streamId}`, 'refused')) === null, 'the mark gone once the frames are in');
    // The other instance answers 503 until its own probe finds Redis taking writes again (under
    // load that can trail the owner's last write): resume once it says the store is back.
    await storeBack(b);
    const later = await resume(b.url, opened[2]!.start, 0);
    expect(later.status, 'the resume on the other instance').toBe(200);
    const laterFrames = await Promise.race([later.ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resume elsewhere hangs')), 2_000))]);
    expect(contiguous(laterFrames)).toBe(true);
    expect(laterFrames.slice(-2)).toMatchObject([{ type: 'error', code: 'store_unavailable' }, { type: 'done', reason: 'error' }]);
    const again = await waitFor(async () => {
      const res = await postSse(`${b.url}/api/chat`, chat(3));
      sessions.push(res);
      return res.status === 200 ? res : (res.disconnect(), undefined);
    }, 'a new stream once writes are possible');
    expect((await again.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });
});

describe('Redis frozen (SIGSTOP)', () => {
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = { OWNER_LEASE_MS: '10000' };
    [a, b] = await Promise.all([startServer(base(redis, 'a', env)), startServer(base(redis, 'b', env))]);
  });
  afterAll(async () => {
    redis?.resume();
    await Promise.allSettled([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it('answers 503 store_unavailable with Retry-After within 2.5 s on every instance, /healthz says so, and all works again after', async () => {
    const { session, start } = await open(a.url, chat(600));
    await session.waitForFrame((f) => f.type === 'token');
    const tool = await open(a.url, weather);
    const call = (await tool.session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    const local = await open(a.url, chat(100_000));

    redis.pause();
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat(3)) };
    const asks: [string, Promise<Awaited<ReturnType<typeof ask>>>][] = [];
    for (const [name, url] of [['owner', a.url], ['other', b.url]] as const) {
      asks.push(
        [`start on the ${name}`, ask(`${url}/api/chat`, post)],
        [`resume on the ${name}`, ask(`${url}/api/streams/${start.streamId}?token=${start.streamToken}`, { headers: { 'last-event-id': '0' } })],
        [`approve on the ${name}`, approve(url, call, tool.start)],
        [`audit on the ${name}`, ask(`${url}/api/streams/${start.streamId}/approvals?token=${start.streamToken}`)],
      );
    }
    asks.push(['cancel on the other', cancel(b.url, start)]);
    const answers = await Promise.all(asks.map(async ([what, answer]) => [what, await answer.catch((error: Error) => ({ status: 0, code: error.name, retryAfter: null, ms: 5_000 }))] as const));
    console.log(`[redis-faults] Redis frozen: ${answers.map(([what, x]) => `${what} ${x.status} in ${x.ms.toFixed(0)} ms`).join('; ')}`);
    for (const [what, answer] of answers) {
      expect([what, answer.status, answer.code, answer.retryAfter]).toEqual([what, 503, 'store_unavailable', '1']);
      expect(answer.ms, what).toBeLessThan(2_500);
    }
    // A cancel on the owner needs no Redis: it is applied at once.
    expect((await cancel(a.url, local.start)).status).toBe(200);
    expect(await local.session.waitForFrame((f) => f.type === 'done', 2_000)).toMatchObject({ reason: 'cancelled' });
    for (const server of [a, b]) {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { store: string };
      expect(health.store).toBe('redis_unavailable');
    }

    redis.resume();
    for (const server of [a, b]) await storeBack(server);
    expect((await session.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect((await approve(b.url, call, tool.start)).status).toBe(200);
    expect(await tool.session.waitForFrame((f) => f.type === 'tool_result', 2_000)).toMatchObject({ ok: true });
  });
});

describe('Redis restarted without persistence', () => {
  let redis: RedisServer;
  let admin: Redis;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    [a, b] = await Promise.all([startServer(base(redis, 'a')), startServer(base(redis, 'b'))]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    admin?.disconnect();
    await redis?.stop();
  });

  it('pending approvals survive: a decision through the other instance and one from the socket that started the stream both run the tool', async () => {
    const { session, start } = await open(a.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    const socket = await connectWs(a.url);
    sockets.push(socket);
    socket.send({ type: 'start', id: 'w1', ...weather });
    const wsCall = (await socket.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;

    await redis.stop(true);
    await redis.start();
    const decided = await waitFor(async () => {
      const answer = await approve(b.url, call, start);
      return answer.status === 503 ? undefined : answer;
    }, 'an answer other than 503 once Redis is back');
    console.log(`[redis-faults] approval after a Redis restart: ${decided.status} ${decided.code ?? ''}`);
    expect(decided.status).toBe(200);
    expect(await session.waitForFrame((f) => f.type === 'tool_result', 2_000)).toMatchObject({ ok: true, callId: call.callId });

    // The record lost again before the owner wrote it back: the decision on the owner writes it.
    await waitFor(async () => (await admin.exists(`tw:call:${wsCall.callId}`)) === 1, 'the call record written back');
    await admin.del(`tw:call:${wsCall.callId}`);
    socket.send({ type: 'approve', callId: wsCall.callId });
    const answer = await socket.waitForFrame((f) => (f.type === 'tool_result' && f.callId === wsCall.callId) || f.type === 'error', 3_000);
    expect(answer).toMatchObject({ type: 'tool_result', ok: true });
  });

  it('a Redis that lost its data without dropping a connection (FLUSHALL): a decision elsewhere is told to retry, never that the call is unknown, and runs once the owner wrote it back', async () => {
    const { session, start } = await open(a.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    await admin.flushall();
    const answers: { status: number; code?: string }[] = [];
    const decided = await waitFor(async () => {
      const answer = await approve(b.url, call, start);
      answers.push(answer);
      return answer.status === 503 ? undefined : answer;
    }, 'an answer other than 503 once the owner wrote the call back');
    console.log(`[redis-faults] approval after FLUSHALL: ${answers.map((x) => `${x.status} ${x.code ?? ''}`).join(', ')}`);
    for (const answer of answers.slice(0, -1)) expect([answer.status, answer.code]).toEqual([503, 'store_unavailable']);
    expect(decided.status).toBe(200);
    expect(await session.waitForFrame((f) => f.type === 'tool_result', 2_000)).toMatchObject({ ok: true, callId: call.callId });
  });

  it('a call no instance knows is 404 unknown_call once the recovery window after a loss has passed', async () => {
    const { session, start } = await open(a.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;
    await admin.flushall();
    // The owner meets the loss on its next lease beat and opens the window; wait for it to close.
    await waitFor(async () => (await admin.exists('tw:epoch')) === 1 && (await admin.exists('tw:recovering')) === 0, 'the recovery window closed');
    const stranger = await approve(b.url, { ...call, callId: 'call_nobody_knows' }, start);
    expect([stranger.status, stranger.code]).toEqual([404, 'unknown_call']);
  });
});

describe('Redis restarted with persistence (append-only file)', () => {
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tokenwire-redis-aof-'));
    // `--appendfsync always`: every write is on disk before Redis answers it, so a crash loses nothing.
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
    [a, b] = await Promise.all([startServer(base(redis, 'a')), startServer(base(redis, 'b'))]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a pending approval and its log outlive a crash of Redis: the decision through the other instance runs the tool, and a resume there reads the whole log', async () => {
    const { session, start } = await open(a.url, weather);
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ToolCall;

    await redis.stop(true);
    await redis.start();
    const decided = await waitFor(async () => {
      const answer = await approve(b.url, call, start);
      return answer.status === 503 ? undefined : answer;
    }, 'an answer other than 503 once Redis is back');
    expect(decided.status).toBe(200);
    expect(await session.waitForFrame((f) => f.type === 'tool_result', 2_000)).toMatchObject({ ok: true, callId: call.callId });
    await session.waitForFrame((f) => f.type === 'done', 10_000);

    // The log written before the crash is read back through the other instance, whole and in order.
    const again = await resume(b.url, start, -1);
    const frames = await again.ended;
    expect(frames[0]).toMatchObject({ type: 'start', seq: 0 });
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(contiguous(frames)).toBe(true);
    expect(frames.some((f) => f.type === 'tool_call' && f.callId === call.callId)).toBe(true);
  });
});
