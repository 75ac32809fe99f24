import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import { HEADERS, type ServerFrame } from '../../shared/protocol.js';
import type { Core } from '../../server/service/core.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Two instances on one redis-server receive the same idempotent start at once (a client's
// retry racing its first attempt through a round-robin balancer): one generation runs, every
// caller gets it, and the client's start budget pays for it once.

const STARTS_PER_MINUTE = 3;
const CALLERS = 8;
const env = (id: string, redisUrl: string) => ({
  REDIS_URL: redisUrl,
  INSTANCE_ID: id,
  SIM_TOKENS_PER_SECOND: '2000',
  OWNER_LEASE_MS: '1000',
  STREAM_STARTS_PER_MINUTE: String(STARTS_PER_MINUTE),
  // Each round is another client, named by the address the trusted proxy (loopback) forwards.
  TRUST_PROXY: 'loopback',
});

let redis: RedisServer;
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  redis = await startRedisServer();
  a = await startServer(env('a', redis.url));
  b = await startServer(env('b', redis.url));
}, 30_000);
afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await redis?.stop();
}, 20_000);

const started = async (core: Core) => (await core.metrics.streamsStarted.get()).values.reduce((sum, v) => sum + v.value, 0);
const chat = (content: string) => ({ messages: [{ role: 'user', content }], options: { simulate: { tokens: 20 } } });

/** POSTs a chat start; its status, the stream it names and the stream ids its frames carry. */
async function post(server: TestServer, body: unknown, headers: Record<string, string>) {
  const response = await fetch(`${server.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  const frames = text.split('\n').flatMap((line) => {
    if (!line.startsWith('data: ')) return [];
    const decoded = decodeServerFrame(line.slice(6));
    return decoded.ok ? [decoded.value] : [];
  });
  return { status: response.status, streamId: response.headers.get(HEADERS.streamId), frames, text };
}
const ids = (frames: ServerFrame[]) => new Set(frames.map((f) => f.streamId));

describe('concurrent starts with one Idempotency-Key on two instances', () => {
  it.each([1, 2, 3])('round %i: one generation, every caller gets it, and the budget shows one start used', async (round) => {
    const client = { 'x-forwarded-for': `198.51.100.${round}` };
    const key = { [HEADERS.idempotencyKey]: `race-${round}-${'k'.repeat(16)}` };
    const before = (await started(a.core)) + (await started(b.core));

    const answers = await Promise.all(Array.from({ length: CALLERS }, (_, i) => post(i % 2 === 0 ? a : b, chat(`race ${round}`), { ...client, ...key })));
    expect(answers.map((r) => r.status)).toEqual(Array(CALLERS).fill(200));
    const streams = new Set(answers.map((r) => r.streamId));
    expect(streams.size).toBe(1);
    const [streamId] = streams;
    for (const answer of answers) {
      expect(ids(answer.frames)).toEqual(new Set([streamId]));
      expect(answer.frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    }
    expect((await started(a.core)) + (await started(b.core)) - before).toBe(1);

    // The race cost one start: the rest of the minute's budget is still there, and no more.
    for (let i = 1; i < STARTS_PER_MINUTE; i++) {
      const next = await post(i % 2 === 0 ? a : b, chat(`after ${i}`), client);
      expect(next.status).toBe(200);
    }
    const over = await post(a, chat('one too many'), client);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.text)).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('when the claiming start is refused (the budget is spent), every racing caller is refused at once, none left waiting', async () => {
    const client = { 'x-forwarded-for': '198.51.100.99' };
    for (let i = 0; i < STARTS_PER_MINUTE; i++) expect((await post(a, chat(`spend ${i}`), client)).status).toBe(200);
    const key = { [HEADERS.idempotencyKey]: `race-refused-${'k'.repeat(16)}` };
    const began = performance.now();
    const answers = await Promise.all(Array.from({ length: CALLERS }, (_, i) => post(i % 2 === 0 ? a : b, chat('refused'), { ...client, ...key })));
    expect(answers.map((r) => r.status)).toEqual(Array(CALLERS).fill(429));
    for (const answer of answers) expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'rate_limited' } });
    // Woken by the dropped claim, not by its lapse (START_CLAIM_MS, 5 s).
    expect(performance.now() - began).toBeLessThan(2_500);
  });
});
