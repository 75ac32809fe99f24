import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { createSseParser } from '../../shared/sse.js';
import { waitFor } from '../helpers/events.js';
import { postSse, type SseSession } from '../helpers/sse-client.js';
import { NGINX_CONF, startNginx, startReplica, withApiLocation, type Nginx, type Replica } from './nginx-harness.js';

// Real nginx (Debian's package) in front of two real tokenwire processes, with the very
// deploy/nginx.conf that docker compose runs; only its two includes (upstream servers, listen
// port) are written per run. Issue "Load and proof", part 5.

const RATE = 20; // SIM_TOKENS_PER_SECOND of both replicas
const chat = (tokens: number, content = 'Tell me a story.') => ({
  messages: [{ role: 'user', content }],
  options: { simulate: { tokens } },
});

// nginx as shipped, minus our streaming settings: buffering on (the default), HTTP/1.0 to the
// upstream (the default; the reply is then close-delimited rather than chunked), and the
// server's `X-Accel-Buffering: no` ignored. What an unprepared proxy in front of us looks like.
const BUFFERING_CONF = withApiLocation(NGINX_CONF, {
  remove: ['proxy_buffering off;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";'],
  add: ['proxy_ignore_headers X-Accel-Buffering;'],
});
// The same, but the response header is honoured: the server alone turns buffering off.
const HEADER_ONLY_CONF = withApiLocation(NGINX_CONF, {
  remove: ['proxy_buffering off;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";'],
});

const replicas: Replica[] = [];
let nginx: Nginx;
let buffering: Nginx;
let headerOnly: Nginx;
/** Every process started, recorded the moment it is up, so afterAll stops it whatever failed. */
const started: { stop(): Promise<void> }[] = [];
const sessions: SseSession[] = [];
const sockets: WebSocket[] = [];

/** Starts processes in parallel; waits for all to settle (so none comes up after afterAll). */
async function startAll<T extends { stop(): Promise<void> }>(starts: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(starts);
  for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

beforeAll(async () => {
  const rate = { SIM_TOKENS_PER_SECOND: String(RATE) };
  replicas.push(...(await startAll([startReplica(rate), startReplica(rate)])));
  const proxies = await startAll([NGINX_CONF, BUFFERING_CONF, HEADER_ONLY_CONF].map((conf) => startNginx(conf, replicas)));
  [nginx, buffering, headerOnly] = proxies as [Nginx, Nginx, Nginx];
}, 60_000);

afterAll(async () => {
  for (const session of sessions) session.disconnect();
  for (const socket of sockets) socket.terminate();
  // stop() signals the whole process group, then SIGKILLs it after a grace period.
  await Promise.allSettled(started.map((p) => p.stop()));
}, 30_000);

async function openSse(base: string, body: unknown, headers: Record<string, string> = {}) {
  const session = await postSse(`${base}/api/chat`, body, headers);
  sessions.push(session);
  return session;
}

/** One read from the socket and the event types it completed, replayed through a fresh parser. */
interface Read {
  at: number;
  events: string[];
}

function readsOf(session: SseSession): Read[] {
  let completed: string[] = [];
  const parser = createSseParser({ onEvent: (event) => completed.push(event.event ?? 'message') });
  return session.reads.map((read) => {
    completed = [];
    parser.feed(read.text);
    return { at: read.at, events: completed };
  });
}

const firstReadWith = (reads: Read[], type: string) => reads.findIndex((r) => r.events.includes(type));
const readsWith = (reads: Read[], type: string) => reads.filter((r) => r.events.includes(type)).length;

describe('SSE through nginx (deploy/nginx.conf)', () => {
  it('delivers tokens one by one while the stream is still open, not in one lump', async () => {
    const tokens = 30;
    const session = await openSse(nginx.url, chat(tokens));
    expect(session.status).toBe(200);
    expect(session.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(session.headers['cache-control']).toBe('no-cache, no-transform');
    expect(session.headers['x-tokenwire-stream-id']).toEqual(expect.any(String));

    // The event that matters: the first token is in the client's hands while the server is
    // still generating, i.e. before `done` and with nearly all tokens yet to come.
    await session.waitForFrame((f) => f.type === 'token', 5_000);
    expect(session.response.complete).toBe(false);
    expect(session.frames.some((f) => f.type === 'done')).toBe(false);
    expect(session.frames.filter((f) => f.type === 'token').length).toBeLessThanOrEqual(2);

    const frames = await session.ended;
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(tokens);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });

    // Tokens came in many separate reads, spread over the generation (at RATE per second).
    const reads = readsOf(session);
    expect(readsWith(reads, 'token')).toBeGreaterThanOrEqual(tokens / 2);
    const firstToken = reads[firstReadWith(reads, 'token')];
    const done = reads[firstReadWith(reads, 'done')];
    expect(done!.at - firstToken!.at).toBeGreaterThan((((tokens - 1) / RATE) * 1_000) / 2);
  });

  it('pins a client to one replica with the tw_affinity cookie nginx mints, and spreads new clients', async () => {
    const activeStreams = async () =>
      Promise.all(replicas.map(async (r) => ((await (await fetch(`${r.url}/healthz`)).json()) as { streams: number }).streams));
    // Polls both replicas (each poll a request) until neither has a live stream.
    const idle = async () => {
      let counts: number[] = [];
      for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
        counts = await activeStreams();
        if (counts.every((n) => n === 0)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`replicas still have active streams: ${counts.join(', ')}`);
    };
    const long = chat(10_000);
    const streaming = (s: SseSession) => s.waitForFrame((f) => f.type === 'token', 5_000);

    await idle();
    // A new client: no cookie, so nginx hashes this request's $request_id and sets it as cookie.
    const first = await openSse(nginx.url, long);
    const setCookie = first.headers['set-cookie']?.join('; ') ?? '';
    const cookie = /tw_affinity=([0-9a-f]+)/.exec(setCookie)?.[1];
    expect(cookie, `Set-Cookie was: ${setCookie}`).toMatch(/^[0-9a-f]{32}$/);
    expect(setCookie).toMatch(/HttpOnly/);
    const followers = await Promise.all([1, 2, 3].map(() => openSse(nginx.url, long, { cookie: `tw_affinity=${cookie}` })));
    expect(followers.map((f) => f.headers['set-cookie'])).toEqual([undefined, undefined, undefined]);
    await Promise.all([first, ...followers].map(streaming));
    // All four streams live on the replica that served the first, cookie-less request.
    expect((await activeStreams()).sort((a, b) => a - b)).toEqual([0, 4]);
    for (const f of [first, ...followers]) f.disconnect();
    await idle();

    // Twenty-four new clients: the chance that all land on one replica is 2^-23.
    const strangers = await Promise.all(Array.from({ length: 24 }, () => openSse(nginx.url, long)));
    await Promise.all(strangers.map(streaming));
    const counts = await activeStreams();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(24);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    for (const s of strangers) s.disconnect();
  });
});

describe('the test can see proxy buffering', () => {
  it('with nginx defaults and X-Accel-Buffering ignored, every token arrives in one lump with done', async () => {
    const tokens = 20; // about 2.5 KB of frames: less than one 4 KB proxy buffer
    const session = await openSse(buffering.url, chat(tokens));
    expect(session.status).toBe(200);
    const frames = await session.ended;
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(tokens);
    // The read that brought the first token also brought every other token and `done`.
    const reads = readsOf(session);
    const lump = reads[firstReadWith(reads, 'token')];
    expect(lump?.events.filter((type) => type === 'token')).toHaveLength(tokens);
    expect(lump?.events).toContain('done');
    expect(readsWith(reads, 'token')).toBe(1);
  });

  it('with the same defaults but X-Accel-Buffering honoured, the server header alone keeps tokens flowing', async () => {
    const tokens = 20;
    const session = await openSse(headerOnly.url, chat(tokens));
    await session.waitForFrame((f) => f.type === 'token', 5_000);
    expect(session.frames.some((f) => f.type === 'done')).toBe(false);
    await session.ended;
    expect(readsWith(readsOf(session), 'token')).toBeGreaterThanOrEqual(tokens / 2);
  });
});

describe('WebSocket through nginx (deploy/nginx.conf)', () => {
  it('runs the tool approval flow: start → tool_call → approve → tool_result → done', async () => {
    const socket = new WebSocket(`${nginx.url.replace(/^http/, 'ws')}/ws`);
    sockets.push(socket);
    const frames: ServerFrame[] = [];
    const problems: string[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
    socket.on('unexpected-response', (_req, res) => problems.push(`upgrade refused: HTTP ${res.statusCode}`));
    socket.on('error', (error) => problems.push(String(error)));
    socket.on('close', (code) => problems.push(`closed with ${code}`));
    const next = <T extends ServerFrame['type']>(type: T, what = type as string) =>
      waitFor(
        () => {
          if (problems.length > 0) throw new Error(`${what}: ${problems.join('; ')}`);
          return frames.find((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
        },
        `a ${what} frame (saw ${frames.map((f) => f.type).join(',') || 'none'})`,
        10_000,
      );

    await waitFor(() => {
      if (problems.length > 0) throw new Error(problems.join('; '));
      return socket.readyState === WebSocket.OPEN;
    }, 'the WebSocket to open through nginx', 5_000);
    socket.send(
      JSON.stringify({
        type: 'start',
        id: 'c1',
        messages: [{ role: 'user', content: "What's the weather in Paris?" }],
        tools: ['get_weather'],
      }),
    );

    const start = await next('start');
    expect(start).toMatchObject({ id: 'c1', transport: 'ws' });
    const call = await next('tool_call');
    expect(call).toMatchObject({ name: 'get_weather', approval: 'required', streamId: start.streamId });
    expect(frames.some((f) => f.type === 'tool_result')).toBe(false);

    socket.send(JSON.stringify({ type: 'approve', callId: call.callId }));
    const result = await next('tool_result');
    expect(result).toMatchObject({ callId: call.callId, ok: true });
    const done = await next('done');
    expect(done).toMatchObject({ streamId: start.streamId, reason: 'stop' });

    const order = frames.filter((f) => f.streamId === start.streamId).map((f) => f.type);
    expect(order.indexOf('tool_call')).toBeLessThan(order.indexOf('tool_result'));
    expect(order.lastIndexOf('done')).toBe(order.length - 1);
    socket.close();
  });
});
