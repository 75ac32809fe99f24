import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { getSse, postSse, type SseSession } from '../helpers/sse-client.js';
import { launch, NGINX_CONF, startNginx, startReplica, type Nginx, type Replica } from './nginx-harness.js';

// a real redis-server, two real tokenwire processes with REDIS_URL, and the
// real deploy/nginx.conf in front of them in round robin (deploy/nginx.round-robin.conf). No
// stickiness: whichever replica a request reaches must serve any stream.

const RATE = 100; // SIM_TOKENS_PER_SECOND of both replicas
const env = (name: string, redisUrl: string) => ({
  REDIS_URL: redisUrl,
  INSTANCE_ID: name,
  SIM_TOKENS_PER_SECOND: String(RATE),
  SIM_FIRST_TOKEN_MS: '0',
  OWNER_LEASE_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '2000',
  // The test is one client behind one address, and opens 200 streams at once.
  STREAM_STARTS_PER_MINUTE: '100000',
  MAX_STREAMS_PER_CLIENT: '100000',
  TRUST_PROXY: 'loopback',
});

let redis: RedisServer;
const replicas: Replica[] = [];
let nginx: Nginx;
const sessions: SseSession[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const started = await Promise.allSettled([startReplica(env('a', redis.url)), startReplica(env('b', redis.url))]);
  for (const r of started) if (r.status === 'fulfilled') replicas.push(r.value);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  nginx = await startNginx(NGINX_CONF, replicas, 'round-robin');
}, 60_000);

afterAll(async () => {
  for (const session of sessions) session.disconnect();
  for (const socket of sockets) socket.terminate();
  await Promise.allSettled([nginx?.stop(), ...replicas.map((r) => r.stop())]);
  await redis?.stop();
}, 30_000);

const chat = (tokens: number, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content: 'Tell me a story.' }],
  options: { simulate: { tokens }, resumeGraceMs: 30_000 },
  ...extra,
});
type Start = Extract<ServerFrame, { type: 'start' }>;
/** The port of the replica an instance id names ('a' is the first replica, 'b' the second). */
const replicaPortOf = (instanceId: string | undefined) => replicas[instanceId?.startsWith('a') ? 0 : 1]!.port;
/** The replica that is not `instanceId`'s, addressed directly. */
const otherUrl = (instanceId: string | undefined) => replicas[instanceId?.startsWith('a') ? 1 : 0]!.url;
const instanceOf = (session: { headers: Record<string, unknown> }) => session.headers['x-tokenwire-instance'] as string;

async function start(body: unknown): Promise<{ session: SseSession; start: Start }> {
  const session = await postSse(`${nginx.url}/api/chat`, body);
  sessions.push(session);
  const start = (await session.waitForFrame((f) => f.type === 'start')) as Start;
  return { session, start };
}

/** Frames of an SSE session that are part of the log (they carry `id:`); a view's own errors do not. */
const logFrames = (session: SseSession): ServerFrame[] =>
  session.events.filter((e) => e.id !== undefined).flatMap((e) => {
    const decoded = decodeServerFrame(e.data);
    return decoded.ok ? [decoded.value] : [];
  });

/** Resumes through nginx until the answer comes from an instance other than `not` (round robin: a few tries). */
async function resumeElsewhere(streamId: string, token: string, lastSeq: number, not: string): Promise<SseSession> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const session = await getSse(`${nginx.url}/api/streams/${streamId}?token=${token}`, { 'last-event-id': String(lastSeq) });
    sessions.push(session);
    if (instanceOf(session) !== not) return session;
    session.disconnect();
  }
  throw new Error(`20 resumes all reached ${not}`);
}

/** Counts, over one stream's frames from every view, the seqs missing before its done and the seqs seen twice. */
function lostAndDuplicated(frames: ServerFrame[]): { lost: number; duplicated: number; done: boolean } {
  const seen = new Map<number, number>();
  for (const f of frames) seen.set(f.seq, (seen.get(f.seq) ?? 0) + 1);
  const done = frames.find((f) => f.type === 'done');
  const last = done?.seq ?? Math.max(...seen.keys());
  let lost = 0;
  for (let seq = 0; seq <= last; seq++) if (!seen.has(seq)) lost++;
  const duplicated = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  return { lost, duplicated, done: done !== undefined };
}

/** Adds up lost and duplicated seqs over streams and prints the line CI shows. */
function report(what: string, all: ReturnType<typeof lostAndDuplicated>[]): { streams: number; lost: number; duplicated: number } {
  const totals = { streams: all.length, lost: all.reduce((n, c) => n + c.lost, 0), duplicated: all.reduce((n, c) => n + c.duplicated, 0) };
  console.log(`[redis-fleet] ${what}: ${totals.streams} streams, lost ${totals.lost}, duplicated ${totals.duplicated}`);
  return totals;
}

/** Opens a WebSocket through nginx whose upgrade was answered by an instance other than `not` (any when undefined). */
async function wsElsewhere(not?: string): Promise<{ ws: WebSocket; frames: ServerFrame[]; instance: string }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ws = new WebSocket(`${nginx.url.replace('http', 'ws')}/ws`);
    sockets.push(ws);
    const frames: ServerFrame[] = [];
    ws.on('message', (data) => {
      const decoded = decodeServerFrame(data.toString());
      if (decoded.ok) frames.push(decoded.value);
    });
    let instance = '';
    ws.once('upgrade', (res) => (instance = String(res.headers['x-tokenwire-instance'])));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (instance !== not) return { ws, frames, instance };
    ws.close();
  }
  throw new Error(`20 upgrades all reached ${not}`);
}

describe('two instances on Redis behind nginx in round robin (deploy/nginx.conf + nginx.round-robin.conf)', () => {
  it('names the instance in the start frame, X-Tokenwire-Instance and /healthz, and spreads requests over both', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10 && seen.size < 2; i++) {
      const res = await fetch(`${nginx.url}/healthz`);
      const body = (await res.json()) as { instance: string; store: string };
      expect(body.instance).toBe(res.headers.get('x-tokenwire-instance'));
      expect(body.store).toBe('redis');
      seen.add(body.instance);
    }
    expect([...seen].sort()).toEqual(['a', 'b']);
    const { session, start: first } = await start(chat(3));
    expect(first.instanceId).toBe(instanceOf(session));
    // `instanceId` came with protocol minor 2; later minors keep it.
    expect(first.protocolMinor).toBeGreaterThanOrEqual(2);
    await session.ended;
  });

  it('resumes an SSE stream through the other instance: 0 lost, 0 duplicated tokens', async () => {
    const all: ReturnType<typeof lostAndDuplicated>[] = [];
    for (let i = 0; i < 5; i++) {
      const { session, start: first } = await start(chat(60));
      await waitFor(() => session.frames.filter((f) => f.type === 'token').length >= 10, 'ten tokens');
      session.disconnect();
      const before = logFrames(session);
      const again = await resumeElsewhere(first.streamId, first.streamToken as string, before.at(-1)!.seq, first.instanceId as string);
      await again.ended;
      all.push(lostAndDuplicated([...before, ...logFrames(again)]));
      expect(all.at(-1)?.done).toBe(true);
    }
    expect(report('SSE resume on the other instance', all)).toEqual({ streams: 5, lost: 0, duplicated: 0 });
  });

  it('resumes a WebSocket stream through the other instance: 0 lost, 0 duplicated tokens', async () => {
    const all: ReturnType<typeof lostAndDuplicated>[] = [];
    for (let i = 0; i < 5; i++) {
      const first = await wsElsewhere();
      first.ws.send(JSON.stringify({ type: 'start', id: `c${i}`, ...chat(60) }));
      await waitFor(() => first.frames.filter((f) => f.type === 'token').length >= 10, 'ten tokens');
      first.ws.terminate();
      const start = first.frames[0] as Start;
      expect(start.instanceId).toBe(first.instance);
      const before = [...first.frames];
      const second = await wsElsewhere(first.instance);
      second.ws.send(JSON.stringify({ type: 'resume', streamId: start.streamId, lastSeq: before.at(-1)!.seq, token: start.streamToken }));
      await waitFor(() => second.frames.some((f) => f.type === 'done'), 'done on the other instance');
      second.ws.close();
      all.push(lostAndDuplicated([...before, ...second.frames.filter((f) => f.streamId === start.streamId)]));
    }
    expect(report('WebSocket resume on the other instance', all)).toEqual({ streams: 5, lost: 0, duplicated: 0 });
  });

  it('a cancel through the other instance reaches the generation', async () => {
    // Sent to the other replica itself: nginx's round robin keeps one rotation per worker, so two
    // connections can land on one instance every time; "the other" is chosen here, not hoped for.
    for (let i = 0; i < 3; i++) {
      const { session, start: first } = await start(chat(10_000));
      await session.waitForFrame((f) => f.type === 'token');
      const res = await fetch(`${otherUrl(first.instanceId)}/api/streams/${first.streamId}`, { method: 'DELETE', headers: { 'x-stream-token': first.streamToken as string } });
      expect(await res.json()).toEqual({ ok: true, cancelled: true });
      expect(res.headers.get('x-tokenwire-instance')).not.toBe(first.instanceId);
      const frames = await session.ended;
      expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
    }
  });

  it('an approval through the other instance reaches the generation once; a replay is refused everywhere; the audit answers anywhere', async () => {
    for (let i = 0; i < 2; i++) {
      const { session, start: first } = await start({ messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'], options: { resumeGraceMs: 30_000 } });
      const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as Extract<ServerFrame, { type: 'tool_call' }>;
      const decide = () =>
        fetch(`${otherUrl(first.instanceId)}/api/approvals/${call.callId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stream-token': first.streamToken as string }, body: JSON.stringify({ decision: 'approve' }) });
      const res = await decide();
      expect(res.status).toBe(200);
      expect(res.headers.get('x-tokenwire-instance')).not.toBe(first.instanceId);
      const result = await session.waitForFrame((f) => f.type === 'tool_result');
      expect(result).toMatchObject({ ok: true });
      // The replay, twice: whichever instance each one reaches refuses it.
      for (const replay of [await decide(), await decide()]) {
        expect(replay.status).toBe(409);
        expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('already_decided');
      }
      await session.ended;
      const audits = await Promise.all([1, 2].map(() => fetch(`${nginx.url}/api/streams/${first.streamId}/approvals?token=${first.streamToken}`).then((r) => r.json())));
      for (const audit of audits as { approvals: { callId: string; decision: string; instance: string }[] }[]) {
        expect(audit.approvals).toEqual([expect.objectContaining({ callId: call.callId, decision: 'approved', instance: first.instanceId })]);
      }
    }
  });

  it('a WebSocket approval from the other instance reaches the generation', async () => {
    const first = await wsElsewhere();
    first.ws.send(JSON.stringify({ type: 'start', id: 'w1', messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'], options: { resumeGraceMs: 30_000 } }));
    const call = (await waitFor(() => first.frames.find((f) => f.type === 'tool_call'), 'the tool call')) as Extract<ServerFrame, { type: 'tool_call' }>;
    const start = first.frames[0] as Start;
    first.ws.terminate();
    const second = await wsElsewhere(first.instance);
    second.ws.send(JSON.stringify({ type: 'resume', streamId: start.streamId, lastSeq: call.seq, token: start.streamToken }));
    second.ws.send(JSON.stringify({ type: 'approve', callId: call.callId }));
    const result = await waitFor(() => second.frames.find((f) => f.type === 'tool_result'), 'the tool result on the other instance');
    expect(result).toMatchObject({ ok: true, callId: call.callId });
    await waitFor(() => second.frames.find((f) => f.type === 'done'), 'done');
  });
});

/** Follows one stream through nginx until its `done`, resuming from the last seq after every cut; returns every log frame seen. */
async function followToDone(streamId: string, token: string, from: ServerFrame[], deadlineMs: number): Promise<ServerFrame[]> {
  const frames = [...from];
  const until = Date.now() + deadlineMs;
  while (!frames.some((f) => f.type === 'done')) {
    if (Date.now() > until) throw new Error(`stream ${streamId} had no done after ${deadlineMs} ms`);
    const lastSeq = frames.at(-1)?.seq ?? -1;
    let session: SseSession;
    try {
      session = await getSse(`${nginx.url}/api/streams/${streamId}?token=${token}`, { 'last-event-id': String(lastSeq) });
    } catch {
      continue;
    }
    sessions.push(session);
    // 502/503 while a replica restarts: try again at once (each try is a real request; nginx moves on).
    if (session.status !== 200) {
      session.disconnect();
      continue;
    }
    await session.ended.catch(() => undefined);
    frames.push(...logFrames(session));
  }
  return frames;
}

describe('faults with two instances on Redis behind nginx in round robin', () => {
  it('SIGKILL of the owner: a viewer on the other instance gets owner_lost (retryable) and done within 5 s', async () => {
    const { session, start: first } = await start(chat(100_000));
    await session.waitForFrame((f) => f.type === 'token');
    session.disconnect();
    const viewer = await resumeElsewhere(first.streamId, first.streamToken as string, logFrames(session).at(-1)!.seq, first.instanceId as string);
    await viewer.waitForFrame((f) => f.type === 'token');
    const owner = replicas[first.instanceId === 'a' ? 0 : 1]!;
    const killedAt = performance.now();
    process.kill(-owner.child.pid!, 'SIGKILL');
    await owner.exited;
    const error = await viewer.waitForFrame((f) => f.type === 'error', 5_000);
    const endedMs = performance.now() - killedAt;
    expect(error).toMatchObject({ code: 'owner_lost', retryable: true });
    await viewer.waitForFrame((f) => f.type === 'done', 1_000);
    console.log(`[redis-fleet] SIGKILL of the owner → owner_lost on the other instance after ${endedMs.toFixed(0)} ms`);
    expect(endedMs).toBeLessThan(5_000);
    // The same port again, so nginx's upstream is whole for the tests after this one.
    const index = replicas.indexOf(owner);
    replicas[index] = await startReplica(env(first.instanceId as string, redis.url), owner.port);
  });

  it('a rolling restart of both instances under 200 live resumable streams loses nothing that was generated', async () => {
    const tokens = 400;
    const opened = await Promise.all(Array.from({ length: 200 }, () => start(chat(tokens))));
    const followed = opened.map(({ session, start: first }) => ({ session, first }));
    await Promise.all(followed.map(({ session }) => session.waitForFrame((f) => f.type === 'token', 10_000)));
    // Every client follows its stream to its done, resuming through nginx after each cut.
    const results = Promise.all(
      followed.map(async ({ session, first }) => {
        await session.ended.catch(() => undefined);
        return followToDone(first.streamId, first.streamToken as string, logFrames(session), 60_000);
      }),
    );
    for (let i = 0; i < replicas.length; i++) {
      const old = replicas[i]!;
      await old.stop(5_000);
      replicas[i] = await startReplica(env(i === 0 ? 'a' : 'b', redis.url), old.port);
    }
    const all = await results;
    const totals = all.reduce(
      (sum, frames) => {
        const counts = lostAndDuplicated(frames);
        return { streams: sum.streams + 1, tokens: sum.tokens + frames.filter((f) => f.type === 'token').length, lost: sum.lost + counts.lost, duplicated: sum.duplicated + counts.duplicated, done: sum.done + (counts.done ? 1 : 0) };
      },
      { streams: 0, tokens: 0, lost: 0, duplicated: 0, done: 0 },
    );
    const reasons = new Map<string, number>();
    for (const frames of all) {
      const end = frames.find((f) => f.type === 'error')?.code ?? frames.find((f) => f.type === 'done')?.reason ?? '?';
      reasons.set(String(end), (reasons.get(String(end)) ?? 0) + 1);
    }
    console.log(`[redis-fleet] rolling restart: ${totals.streams} streams, ${totals.tokens} tokens delivered, lost ${totals.lost}, duplicated ${totals.duplicated}; ends: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    expect(totals).toMatchObject({ streams: 200, lost: 0, duplicated: 0, done: 200 });
  }, 120_000);

  it('Redis restarted mid-run: new streams get 503 store_unavailable while it is away, running ones go on, and all works again once it is back', async () => {
    const { session, start: first } = await start(chat(600));
    await session.waitForFrame((f) => f.type === 'token');
    await redis.stop(true);
    const refused = await waitFor(async () => {
      const res = await fetch(`${nginx.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat(3)) });
      const body = await res.text();
      return res.status === 503 ? `${res.headers.get('retry-after')} ${body}` : undefined;
    }, 'a 503 while Redis is away');
    expect(refused.startsWith('1 ')).toBe(true);
    expect(JSON.parse(refused.slice(2))).toMatchObject({ error: { code: 'store_unavailable' } });
    // The instance that does not run the stream finds it through Redis: while Redis is away it
    // answers at once with the typed, retryable error instead of queueing the lookup.
    const elsewhere = replicas.find((r) => r !== undefined && !r.url.endsWith(`:${replicaPortOf(first.instanceId)}`))!;
    const token = first.streamToken ?? '';
    for (const [method, path] of [['GET', `/api/streams/${first.streamId}?token=${token}`], ['DELETE', `/api/streams/${first.streamId}?token=${token}`], ['GET', `/api/streams/${first.streamId}/approvals?token=${token}`]] as const) {
      const res = await fetch(`${elsewhere.url}${path}`, { method, signal: AbortSignal.timeout(3_000) });
      expect([res.status, res.headers.get('retry-after'), ((await res.json()) as { error: { code: string } }).error.code], `${method} ${path}`).toEqual([503, '1', 'store_unavailable']);
    }
    const decided = await fetch(`${elsewhere.url}/api/approvals/call_x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve', token }), signal: AbortSignal.timeout(3_000) });
    expect(decided.status).toBe(503);
    // Over WebSocket: the resume gets its error frame, and the socket goes on answering frames.
    const ws = new WebSocket(`${elsewhere.url.replace('http', 'ws')}/ws`);
    sockets.push(ws);
    const wsFrames: ServerFrame[] = [];
    ws.on('message', (data) => {
      const decoded = decodeServerFrame(data.toString());
      if (decoded.ok) wsFrames.push(decoded.value);
    });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.send(JSON.stringify({ type: 'resume', streamId: first.streamId, lastSeq: 0, token }));
    ws.send('garbage');
    await waitFor(() => wsFrames.filter((f) => f.type === 'error').length >= 2, 'two error frames while Redis is away', 3_000);
    expect(wsFrames.filter((f) => f.type === 'error').map((f) => (f as { code: string }).code)).toEqual(['store_unavailable', 'invalid_frame']);
    // The retryable error names the stream it is about, so a client resuming several knows which.
    expect(wsFrames.find((f) => f.type === 'error')?.streamId).toBe(first.streamId);
    const tokensWhileDown = session.frames.filter((f) => f.type === 'token').length;
    await waitFor(() => session.frames.filter((f) => f.type === 'token').length > tokensWhileDown + 10, 'tokens while Redis is away');
    await redis.start();
    const after = await waitFor(async () => {
      const res = await postSse(`${nginx.url}/api/chat`, chat(5));
      sessions.push(res);
      if (res.status !== 200) {
        res.disconnect();
        return undefined;
      }
      return res;
    }, 'a new stream once Redis is back', 15_000);
    expect((await after.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    const frames = await session.ended;
    const counts = lostAndDuplicated(logFrames(session));
    console.log(`[redis-fleet] Redis restarted mid-run: the running stream (${first.instanceId}) delivered ${frames.filter((f) => f.type === 'token').length} tokens, lost ${counts.lost}, duplicated ${counts.duplicated}`);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(counts).toMatchObject({ lost: 0, duplicated: 0 });
  }, 60_000);
});

describe('start-up checks', () => {
  const exitOf = async (extra: Record<string, string>) => {
    const proc = launch(process.execPath, ['--import', 'tsx', 'server/standalone/main.ts'], { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...extra });
    return { code: await proc.exited, stderr: proc.stderr() };
  };

  it('exits 2 with a clear message when Redis does not answer at start', async () => {
    const { code, stderr } = await exitOf({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
  });

  it('exits 2 with a clear message for WORKERS above 1 without REDIS_URL', async () => {
    const { code, stderr } = await exitOf({ WORKERS: '2' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/WORKERS=2: more than one process needs REDIS_URL/);
  });
});
