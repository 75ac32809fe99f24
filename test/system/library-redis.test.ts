import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient } from '../../client/index.js';
import { createTokenwire, simulatedModel, type FinishEvent, type Tokenwire } from '../../server/index.js';
import { redisStore } from '../../server/fleet/redis/index.js';
import { ask, firstToken } from '../client/fixtures.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { postSse } from '../helpers/sse-client.js';

// The whole fleet behaviour through the library: two createTokenwire instances on one
// redis-server share a stream — started on one, resumed and cancelled through the other.

interface Instance {
  tw: Tokenwire;
  url: string;
  close(): Promise<void>;
}

async function mount(tw: Tokenwire): Promise<Instance> {
  const app = express();
  app.use(tw.router);
  const server: Server = createServer(app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  tw.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    tw,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tw`,
    async close() {
      await tw.close({ deadlineMs: 1_000 });
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let redis: RedisServer;
let client: Redis;
const instances: Instance[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  client?.disconnect();
  await redis?.stop();
});

const model = () => simulatedModel({ tokensPerSecond: 200, firstTokenMs: 0 });
const logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('createTokenwire with redisStore', () => {
  it('shares a stream between two instances: started on one (by URL), resumed on the other (the app’s own client)', async () => {
    const a = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'a', logger, store: redisStore({ url: redis.url }) }));
    const b = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'b', logger, store: redisStore({ client }) }));
    instances.push(a, b);
    await Promise.all([a.tw.ready(), b.tw.ready()]);
    expect(a.tw.health()).toMatchObject({ ready: true, store: 'redis', instance: 'a' });
    expect(b.tw.health()).toMatchObject({ ready: true, store: 'redis', instance: 'b' });

    const started = createChatClient({ baseUrl: a.url, transport: 'sse' }).chat(ask('Tell me a story', { options: { simulate: { tokens: 40 } } }));
    await firstToken(started);
    // Viewed through the other instance from the start of the log, while it runs on the first.
    const resumed = createChatClient({ baseUrl: b.url, transport: 'ws' }).resume({ ...started.ref!, lastSeq: -1 });
    const [original, viewed] = await Promise.all([started.result, resumed.result]);
    expect(viewed.reason).toBe('stop');
    expect(viewed.text.split(' ')).toHaveLength(40);
    expect(viewed.text).toBe(original.text);
    // The app's client stays the app's: tokenwire's close leaves it connected.
    await b.close();
    instances.splice(instances.indexOf(b), 1);
    expect(await client.ping()).toBe('PONG');
  }, 30_000);

  it('runs onFinish once, on the instance that ran the generation, for a stream cancelled through the other', async () => {
    const finished: Record<'a' | 'b', FinishEvent[]> = { a: [], b: [] };
    const waiters: (() => void)[] = [];
    const onFinish = (on: 'a' | 'b') => (event: FinishEvent) => {
      finished[on].push(event);
      for (const wake of waiters.splice(0)) wake();
    };
    const finishedOn = (on: 'a' | 'b', count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (finished[on].length >= count ? resolve() : waiters.push(check));
        check();
      });
    const a = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'a', logger, store: redisStore({ client }), onFinish: onFinish('a') }));
    const b = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'b', logger, store: redisStore({ client }), onFinish: onFinish('b') }));
    instances.push(a, b);
    await Promise.all([a.tw.ready(), b.tw.ready()]);

    const session = await postSse(`${a.url}/api/chat`, { messages: [{ role: 'user', content: 'Tell me a story' }], options: { simulate: { tokens: 5_000 } } });
    const start = await session.waitForFrame((f) => f.type === 'start');
    await session.waitForFrame((f) => f.type === 'token');
    const cancel = await fetch(`${b.url}/api/streams/${start.streamId}`, { method: 'DELETE', headers: { 'x-stream-token': (start as { streamToken: string }).streamToken } });
    expect(cancel.status).toBeLessThan(300);
    await finishedOn('a', 1);
    expect(finished.a[0]).toMatchObject({ streamId: start.streamId, reason: 'cancelled' });
    expect(finished.a[0]!.text.length).toBeGreaterThan(0);

    // b reports its own generations only: by the time its own chat is reported, a's cancel would have been too.
    const own = await postSse(`${b.url}/api/chat`, { messages: [{ role: 'user', content: 'Hi' }], options: { simulate: { tokens: 3 } } });
    const ownFrames = await own.ended;
    await finishedOn('b', 1);
    expect(finished.b.map((e) => [e.streamId, e.reason])).toEqual([[ownFrames[0]!.streamId, 'stop']]);
    expect(finished.a).toHaveLength(1);
  }, 30_000);

  it('answers 503 store_unavailable while Redis cannot be reached, and ready() rejects with RedisUnavailableError', async () => {
    const tw = createTokenwire({ logger, store: redisStore({ url: 'redis://127.0.0.1:1' }) });
    await expect(tw.ready()).rejects.toMatchObject({ name: 'RedisUnavailableError' });
    const answer = await tw.fetch(new Request('http://h/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' }));
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    expect(tw.health()).toMatchObject({ ready: false, store: 'redis_unavailable' });
    await tw.close();
  }, 20_000);

  it('refuses a redisStore without a URL or client', () => {
    expect(() => redisStore({} as never)).toThrow(/give \{ url: "redis:\/\/host:port" \} or \{ client \}/);
    expect(() => redisStore({ url: 'http://x' })).toThrow(TypeError);
  });
});
