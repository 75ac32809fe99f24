import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient } from '../../client/index.js';
import { z } from 'zod';
import { createTokenwire, defineClientTool, simulatedModel, type FinishEvent, type Tokenwire } from '../../server/index.js';
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

  it('a client tool started on one instance is answered through the other: its output reaches the owner once, and is audited', async () => {
    const outputSchema = z.strictObject({ timeZone: z.string(), time: z.string() });
    const tools = [defineClientTool({ name: 'get_local_time', description: 'The browser time.', parameters: z.strictObject({}), timeoutMs: 20_000, outputSchema })];
    const a = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'a', logger, tools, store: redisStore({ url: redis.url }) }));
    const b = await mount(createTokenwire({ basePath: '/tw', model: model(), instanceId: 'b', logger, tools, store: redisStore({ url: redis.url }) }));
    instances.push(a, b);
    await Promise.all([a.tw.ready(), b.tw.ready()]);

    // Started on a by a client without the tool's handler: the call waits on a.
    const started = createChatClient({ baseUrl: a.url, transport: 'ws' }).chat(ask('What time is it where I am?', { tools: ['get_local_time'] }));
    const run = await new Promise<string>((resolve) => started.on('change', () => started.recentFrames().some((f) => f.type === 'tool_run') && resolve(started.toolCalls[0]!.callId)));
    // Answered over a WebSocket on b (the ref's transport), which forwards the output to a as a decision travels.
    const output = { timeZone: 'Pacific/Chatham', time: '09:30' };
    const answering = createChatClient({ baseUrl: b.url, clientTools: { get_local_time: () => output } }).resume({ ...started.ref!, lastSeq: -1 });
    const [original, viewed] = await Promise.all([started.result, answering.result]);
    expect(original.text).toBe('Your local time is 09:30 (Pacific/Chatham).');
    expect(viewed.text).toBe(original.text);
    expect(started.toolResults).toEqual([{ callId: run, ok: true, result: output }]);

    const repeat = (instance: Instance) =>
      fetch(`${instance.url}/api/tool-outputs/${run}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stream-token': started.ref!.token! }, body: '{"output":1}' });
    for (const instance of [a, b]) {
      const answer = await repeat(instance);
      expect(answer.status).toBe(409);
      expect((await answer.json()).error.code).toBe('already_decided');
    }
    // And by POST /api/tool-outputs on b for a second call that waits on a: applied there, once.
    const second = createChatClient({ baseUrl: a.url, transport: 'sse' }).chat(ask('What time is it where I am?', { tools: ['get_local_time'] }));
    const secondRun = await new Promise<string>((resolve) => second.on('change', () => second.recentFrames().some((f) => f.type === 'tool_run') && resolve(second.toolCalls[0]!.callId)));
    const post = (body: unknown) =>
      fetch(`${b.url}/api/tool-outputs/${secondRun}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stream-token': second.ref!.token! }, body: JSON.stringify(body) });
    // One the owner's schema refuses is un-recorded everywhere: the call still takes a good one.
    const refused = await post({ output: { time: 12 } });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.code).toBe('invalid_request');
    expect((await post({ output })).status).toBe(200);
    expect((await second.result).text).toBe(original.text);

    const audit = await fetch(`${b.url}/api/streams/${original.streamId}/approvals`, { headers: { 'x-stream-token': started.ref!.token! } });
    const { approvals } = (await audit.json()) as { approvals: { decision: string; instance: string; clientOutput: { transport: string } }[] };
    expect(approvals).toEqual([expect.objectContaining({ tool: 'get_local_time', decision: 'not_required', instance: 'a', outcome: 'ok', clientOutput: expect.objectContaining({ transport: 'ws', ok: true }) })]);
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
