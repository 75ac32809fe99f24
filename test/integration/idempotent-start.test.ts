import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatInput } from '../../client/index.js';
import { createChatHandler } from '../../server/edge/web/web.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import { createSseParser } from '../../shared/sse.js';
import { HEADERS, type ServerFrame, type ServerFrameOf } from '../../shared/protocol.js';
import type { Core } from '../../server/service/core.js';
import { NodeWebSocket } from '../client/fixtures.js';
import { startCuttingProxy } from '../helpers/cutting-proxy.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs } from '../helpers/ws-client.js';

// a connection cut after the chat was sent but before the `start` frame came back
// leaves the client without the stream's id and token. Its start carries an idempotency key; a
// repeat with the key gets the stream the server already runs, from its `start` frame.

const TOKENS = 300;
const prompt = (content: string): ChatInput => ({ messages: [{ role: 'user', content }], options: { simulate: { tokens: TOKENS } } });
/** As tokenwire's client asks by default: the server keeps generating 30 s after the last viewer left. */
const resumable = (content: string): ChatInput => ({ messages: [{ role: 'user', content }], options: { simulate: { tokens: TOKENS }, resumeGraceMs: 30_000 } });
const tokensOf = (frames: ServerFrame[]) => frames.filter((f): f is ServerFrameOf<'token'> => f.type === 'token').map((f) => f.text);
const startOf = (frames: ServerFrame[]) => frames.find((f): f is ServerFrameOf<'start'> => f.type === 'start');
const counted = async (core: Core, metric: 'streamsStarted' | 'startReplays') => (await core.metrics[metric].get()).values.reduce((sum, v) => sum + v.value, 0);
const key = (name: string) => `test-key-${name}-${'x'.repeat(16)}`;

let server: TestServer;
let reference: string;

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '2000' });
  reference = tokensOf(await (await postSse(`${server.url}/api/chat`, prompt('reference'))).ended).join('');
}, 30_000);
afterAll(async () => {
  await server?.close();
});

describe.each(['sse', 'ws'] as const)('a connection cut before the start frame arrived, over %s', (transport) => {
  it('the client starts again with its key: every token arrives once, and the server ran exactly one generation', async () => {
    // SSE: the POST is request 1; WebSocket: the upgrade is request 1, the `start` frame request 2.
    const proxy = await startCuttingProxy({
      target: { host: '127.0.0.1', port: server.port },
      cutAfterBytes: { min: 1e9, max: 1e9 + 1 },
      seed: 17,
      cutBeforeAnswer: { connections: 1, request: transport === 'sse' ? 1 : 2 },
    });
    const client = createChatClient({ baseUrl: proxy.url, transport, WebSocket: NodeWebSocket, batchMs: 0 });
    try {
      const started = await counted(server.core, 'streamsStarted');
      const replays = await counted(server.core, 'startReplays');
      const stream = client.chat(prompt('reference'));
      const got: string[] = [];
      stream.onToken((batch) => got.push(batch.text));
      const result = await stream.result;

      expect(result.reason, result.error?.message).toBe('stop');
      expect(proxy.cuts).toBe(1);
      expect(got.join('')).toBe(reference);
      expect(got.join('').length).toBe(reference.length);
      expect(await counted(server.core, 'streamsStarted')).toBe(started + 1);
      expect(await counted(server.core, 'startReplays')).toBe(replays + 1);
    } finally {
      client.close();
      await proxy.close();
    }
  });
});

describe('the idempotency key on the wire', () => {
  it('POST /api/chat twice with one Idempotency-Key: the same stream, its start frame with the token again, one generation', async () => {
    const started = await counted(server.core, 'streamsStarted');
    const headers = { [HEADERS.idempotencyKey]: `"${key('same')}"` };
    const first = await postSse(`${server.url}/api/chat`, prompt('same'), headers);
    const second = await postSse(`${server.url}/api/chat`, prompt('same'), headers);
    const [a, b] = await Promise.all([first.ended, second.ended]);
    expect(second.headers[HEADERS.streamId]).toBe(first.headers[HEADERS.streamId]);
    expect(startOf(b)).toEqual(startOf(a));
    expect(startOf(b)?.streamToken).toMatch(/^apr_/);
    expect(tokensOf(b).join('')).toBe(tokensOf(a).join(''));
    expect(await counted(server.core, 'streamsStarted')).toBe(started + 1);
  });

  it('the key again with another body: 409 idempotency_conflict', async () => {
    const headers = { [HEADERS.idempotencyKey]: key('conflict') };
    const first = await postSse(`${server.url}/api/chat`, prompt('one'), headers);
    const other = await postSse(`${server.url}/api/chat`, prompt('another'), headers);
    expect(first.status).toBe(200);
    expect(other.status).toBe(409);
    expect(JSON.parse(other.reads.map((r) => r.text).join(''))).toEqual({ error: { code: 'idempotency_conflict', message: expect.any(String) } });
    first.disconnect();
  });

  it('a key too short to be unguessable: 400 invalid_request', async () => {
    const refused = await postSse(`${server.url}/api/chat`, prompt('short'), { [HEADERS.idempotencyKey]: 'abc' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.reads.map((r) => r.text).join(''))).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('without a key, as before: the same body twice makes two streams', async () => {
    const started = await counted(server.core, 'streamsStarted');
    const first = await postSse(`${server.url}/api/chat`, prompt('nokey'));
    const second = await postSse(`${server.url}/api/chat`, prompt('nokey'));
    await Promise.all([first.ended, second.ended]);
    expect(second.headers[HEADERS.streamId]).not.toBe(first.headers[HEADERS.streamId]);
    expect(await counted(server.core, 'streamsStarted')).toBe(started + 2);
  });

  it('over the WebSocket: a start with the key on a new socket gets the same stream from its start frame; another body gets the typed 409 error frame', async () => {
    const request = { ...resumable('reference'), type: 'start', id: 'c1', idempotencyKey: key('ws') };
    const first = await connectWs(server.url);
    first.send(request);
    const a = (await first.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    first.close();
    const second = await connectWs(server.url);
    try {
      second.send(request);
      const b = (await second.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
      expect(b).toEqual(a);
      await second.waitForFrame((f) => f.type === 'done' && f.streamId === a.streamId);
      expect(tokensOf(second.frames).join('')).toBe(reference);
      second.send({ ...request, id: 'c2', messages: [{ role: 'user', content: 'something else' }] });
      const refused = await second.waitForFrame((f) => f.type === 'error' && f.streamId === 'c2');
      expect(refused).toMatchObject({ code: 'idempotency_conflict', retryable: false });
    } finally {
      second.close();
    }
  });
});

/** A chat start through the Express route or the web-standard handler: its status, frames (to its end) and error body. */
async function startVia(route: 'express' | 'web', body: unknown, headers: Record<string, string>): Promise<{ status: number; streamId: string | undefined; frames: ServerFrame[]; error?: unknown }> {
  if (route === 'express') {
    const session = await postSse(`${server.url}/api/chat`, body, headers);
    const frames = await session.ended;
    const streamId = session.headers[HEADERS.streamId] as string | undefined;
    return session.status === 200 ? { status: 200, streamId, frames } : { status: session.status, streamId, frames, error: JSON.parse(session.reads.map((r) => r.text).join('')) };
  }
  const response = await createChatHandler(server.core)(new Request('http://example.test/api/chat', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
  const streamId = response.headers.get(HEADERS.streamId) ?? undefined;
  if (response.status !== 200) return { status: response.status, streamId, frames: [], error: await response.json() };
  const frames: ServerFrame[] = [];
  const parser = createSseParser({
    onEvent: (event) => {
      const decoded = decodeServerFrame(event.data);
      if (decoded.ok) frames.push(decoded.value);
    },
  });
  for await (const chunk of response.body!) parser.feed(chunk);
  return { status: 200, streamId, frames };
}

// What @microsoft/fetch-event-source sends when it retries a POST (after a tab switch, a
// dropped connection): the same request, headers and all, plus Last-Event-ID.
describe.each(['express', 'web'] as const)('a POST retried with its Idempotency-Key and Last-Event-ID, through the %s handler', (route) => {
  it('resumes after that seq: every frame arrives once, no second generation', async () => {
    const headers = { [HEADERS.idempotencyKey]: key(`retry-${route}`) };
    const started = await counted(server.core, 'streamsStarted');
    const first = await postSse(`${server.url}/api/chat`, resumable('reference'), headers);
    await first.waitForFrame((f) => f.seq >= 11);
    first.disconnect();
    const seen = first.frames.filter((f) => f.seq <= 11);
    expect(seen.at(-1)?.seq).toBe(11);

    const retried = await startVia(route, resumable('reference'), { ...headers, 'last-event-id': '11' });
    expect(retried.status).toBe(200);
    expect(retried.streamId).toBe(first.headers[HEADERS.streamId]);
    expect(retried.frames[0]?.seq).toBe(12);
    const seqs = [...seen, ...retried.frames].map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(tokensOf([...seen, ...retried.frames]).join('')).toBe(reference);
    expect(await counted(server.core, 'streamsStarted')).toBe(started + 1);
  });

  it('a malformed Last-Event-ID with a key is 400 invalid_request, as on the resume route, and starts nothing', async () => {
    const started = await counted(server.core, 'streamsStarted');
    const refused = await startVia(route, prompt('bad id'), { [HEADERS.idempotencyKey]: key(`bad-id-${route}`), 'last-event-id': 'seven' });
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await counted(server.core, 'streamsStarted')).toBe(started);
  });

  it("a key that starts a new stream views it whole: the Last-Event-ID was another stream's", async () => {
    const fresh = await startVia(route, prompt('fresh'), { [HEADERS.idempotencyKey]: key(`fresh-${route}`), 'last-event-id': '5' });
    expect(fresh.status).toBe(200);
    expect(fresh.frames[0]).toMatchObject({ type: 'start', seq: 0 });
    expect(fresh.frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('without a key, Last-Event-ID names no stream: a new stream from its start frame', async () => {
    const started = await counted(server.core, 'streamsStarted');
    const plain = await startVia(route, prompt('no key'), { 'last-event-id': '11' });
    expect(plain.status).toBe(200);
    expect(plain.frames[0]).toMatchObject({ type: 'start', seq: 0 });
    expect(tokensOf(plain.frames)).toHaveLength(TOKENS);
    expect(await counted(server.core, 'streamsStarted')).toBe(started + 1);
  });
});

describe('with AUTH=jwt, a key is scoped to its subject', () => {
  let authed: TestServer;
  beforeAll(async () => {
    authed = await startServer({ AUTH: 'jwt', JWT_SECRET: HS_SECRET, SIM_TOKENS_PER_SECOND: '2000' });
  });
  afterAll(async () => {
    await authed?.close();
  });

  it("the same key from another subject starts that subject's own stream; from the same subject, the same stream", async () => {
    const as = async (sub: string) => ({ authorization: `Bearer ${await signJwt({ sub })}`, [HEADERS.idempotencyKey]: key('scoped') });
    const alice = await postSse(`${authed.url}/api/chat`, resumable('scoped'), await as('alice'));
    const bob = await postSse(`${authed.url}/api/chat`, resumable('scoped'), await as('bob'));
    const aliceAgain = await postSse(`${authed.url}/api/chat`, resumable('scoped'), await as('alice'));
    await Promise.all([alice.ended, bob.ended, aliceAgain.ended]);
    expect([alice.status, bob.status, aliceAgain.status]).toEqual([200, 200, 200]);
    expect(bob.headers[HEADERS.streamId]).not.toBe(alice.headers[HEADERS.streamId]);
    expect(aliceAgain.headers[HEADERS.streamId]).toBe(alice.headers[HEADERS.streamId]);
    expect(await counted(authed.core, 'streamsStarted')).toBe(2);
  });
});

describe('with Redis, across instances', () => {
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    redis = await startRedisServer();
    const env = { REDIS_URL: redis.url, SIM_TOKENS_PER_SECOND: '2000' };
    a = await startServer({ ...env, INSTANCE_ID: 'a' });
    b = await startServer({ ...env, INSTANCE_ID: 'b' });
  }, 30_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('a start retried on another instance with the same key gets the stream the first instance runs', async () => {
    const headers = { [HEADERS.idempotencyKey]: key('fleet') };
    const first = await postSse(`${a.url}/api/chat`, resumable('reference'), headers);
    await first.waitForFrame((f) => f.type === 'start');
    // The client lost that answer: it starts again, and the balancer sends it to instance b.
    first.disconnect();
    const retried = await postSse(`${b.url}/api/chat`, resumable('reference'), headers);
    const frames = await retried.ended;
    expect(retried.status).toBe(200);
    expect(retried.headers[HEADERS.streamId]).toBe(first.headers[HEADERS.streamId]);
    expect(startOf(frames)).toMatchObject({ instanceId: 'a', streamToken: startOf(first.frames)?.streamToken });
    expect(tokensOf(frames).join('')).toBe(reference);
    expect(await counted(a.core, 'streamsStarted')).toBe(1);
    expect(await counted(b.core, 'streamsStarted')).toBe(0);
    expect(await counted(b.core, 'startReplays')).toBe(1);
  });
});
