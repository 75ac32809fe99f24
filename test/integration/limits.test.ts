import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { request } from 'node:http';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse, type SseSession } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';

// limits per client (subject, else address) and per WebSocket; over a limit a 429
// with Retry-After over HTTP, a typed error frame over WebSocket, and nobody else affected.
// A second client is a second loopback address (127.0.0.2): Linux routes all of 127/8 to lo.

const long = { messages: [{ role: 'user', content: 'long' }], options: { simulate: { tokens: 100_000 } } };
const short = (tokens = 5) => ({ messages: [{ role: 'user', content: 'short' }], options: { simulate: { tokens } } });
/** POSTs a short chat from `localAddress`; resolves with the status, headers and (for errors) the body. */
const chatRequest = (localAddress?: string) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(`${server.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(short(3)));
  });

let server: TestServer;
const open: SseSession[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await server?.close();
});

describe('per-client limits', () => {
  it('with the defaults, one client gets 32 concurrent SSE streams and a 429 with Retry-After for the rest; another client is served', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5' });
    const sessions = await Promise.all(Array.from({ length: 40 }, () => postSse(`${server.url}/api/chat`, long)));
    open.push(...sessions);
    const statuses = sessions.map((s) => s.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(32);
    const refused = sessions.filter((s) => s.status === 429);
    expect(refused).toHaveLength(8);
    expect(refused[0]?.headers['retry-after']).toBe('1');
    const other = await chatRequest('127.0.0.2');
    expect(other.status).toBe(200);
    console.log(`one client, 40 concurrent SSE starts: ${statuses.filter((s) => s === 200).length} accepted, ${refused.length} refused with 429; another address: ${other.status}`);
  });

  it('limits stream starts per minute per client with 429 rate_limited and a Retry-After in seconds', async () => {
    server = await startServer({ STREAM_STARTS_PER_MINUTE: '5', SIM_TOKENS_PER_SECOND: '5000' });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await chatRequest());
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = answers[5]!;
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: 'rate_limited' } });
    // One start per 12 s refills: the wait is about that.
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(11);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(12);
    expect((await chatRequest('127.0.0.3')).status).toBe(200);
  });

  it('counts WebSocket starts against the same client as its SSE streams', async () => {
    server = await startServer({ MAX_STREAMS_PER_CLIENT: '2', SIM_TOKENS_PER_SECOND: '5' });
    open.push(await postSse(`${server.url}/api/chat`, long));
    const ws = await connectWs(server.url);
    ws.send({ type: 'start', id: 'a', ...long });
    ws.send({ type: 'start', id: 'b', ...long });
    const error = (await ws.waitForFrame((f) => f.type === 'error')) as Extract<ServerFrame, { type: 'error' }>;
    expect(error).toMatchObject({ streamId: 'b', code: 'too_many_streams', retryable: true, retryAfterMs: 1000 });
    ws.close();
  });
});

describe('per-WebSocket limits', () => {
  it('one WebSocket cannot take every slot of MAX_STREAMS: past MAX_STREAMS_PER_SOCKET its starts get too_many_streams, others still start', async () => {
    server = await startServer({ MAX_STREAMS: '20', SIM_TOKENS_PER_SECOND: '5' });
    const greedy = await connectWs(server.url);
    for (let i = 0; i < 25; i++) greedy.send({ type: 'start', id: `g${i}`, ...long });
    const starts = await greedy.waitForCount((f) => f.type === 'start', 16);
    const refusals = (await greedy.waitForCount((f) => f.type === 'error', 9)) as Extract<ServerFrame, { type: 'error' }>[];
    expect(starts).toHaveLength(16);
    expect(new Set(refusals.map((f) => f.code))).toEqual(new Set(['too_many_streams']));
    const other = await postSse(`${server.url}/api/chat`, short(3), {});
    expect(other.status).toBe(200);
    expect((await other.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    greedy.close();
  });

  it('past WS_MESSAGES_PER_SECOND messages are dropped with one rate_limited frame per spell; another socket streams on', async () => {
    server = await startServer({ WS_MESSAGES_PER_SECOND: '5', SIM_TOKENS_PER_SECOND: '200' });
    const other = await connectWs(server.url);
    other.send({ type: 'start', id: 'canary', ...short(100) });
    const flood = await connectWs(server.url);
    for (let i = 0; i < 50; i++) flood.send({ type: 'cancel', streamId: `st_${i}` });
    const limited = (await flood.waitForFrame((f) => f.type === 'error' && f.code === 'rate_limited')) as Extract<ServerFrame, { type: 'error' }>;
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(200);
    // The flood's answers arrive in order; the canary's done comes after the flood was sent.
    await other.waitForFrame((f) => f.type === 'done');
    const errors = flood.frames.filter((f) => f.type === 'error') as Extract<ServerFrame, { type: 'error' }>[];
    expect(errors.filter((f) => f.code === 'unknown_stream')).toHaveLength(5);
    expect(errors.filter((f) => f.code === 'rate_limited')).toHaveLength(1);
    expect(other.frames.filter((f) => f.type === 'token')).toHaveLength(100);
    other.close();
    flood.close();
  });
});
