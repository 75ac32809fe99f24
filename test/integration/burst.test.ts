import { afterEach, describe, expect, it } from 'vitest';
import type { ChatRequest, ServerFrame } from '../../shared/protocol.js';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs, framesOf } from '../helpers/ws-client.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// One client opens every stream: per-client limits would refuse most of a burst.
const OPEN_LIMITS = { MAX_STREAMS_PER_CLIENT: '10000', STREAM_STARTS_PER_MINUTE: '100000', MAX_STREAMS_PER_SOCKET: '1000', WS_MESSAGES_PER_SECOND: '10000' };
const chat = (i: number): ChatRequest => ({ messages: [{ role: 'user', content: `Tell me a story ${i}` }], options: { simulate: { tokens: 3 } } });
const types = (frames: ServerFrame[]) => frames.map((f) => f.type);

describe('a burst of starts (paced across turns)', () => {
  it('gives every one of 200 SSE starts opened at once its own stream, start to done', async () => {
    server = await startServer(OPEN_LIMITS);
    const url = `${server.url}/api/chat`;
    const sessions = await Promise.all(Array.from({ length: 200 }, (_, i) => postSse(url, chat(i))));
    const streams = await Promise.all(sessions.map((s) => s.ended));
    expect(sessions.every((s) => s.status === 200)).toBe(true);
    for (const frames of streams) expect(types(frames)).toEqual(['start', 'token', 'token', 'token', 'done']);
    expect(new Set(streams.map((frames) => frames[0]?.streamId)).size).toBe(200);
  });

  it('makes no stream for a client that left while its start waited for a turn', async () => {
    server = await startServer(OPEN_LIMITS);
    const { core } = server;
    // This turn's starts are used up: the next one waits for a later turn.
    while (core.startPacer.turn() === undefined);
    const left = core.chat.startChat(chat(0), { transport: 'sse', gone: () => true });
    const stayed = core.chat.startChat(chat(1), { transport: 'sse', gone: () => false });
    expect(core.startPacer.waiting).toBeGreaterThanOrEqual(2);
    await expect(left).rejects.toMatchObject({ code: 'connection_lost' });
    const stream = await stayed;
    expect(core.hub.size).toBe(1);
    expect(core.hub.get(stream.id)).toBe(stream);
  });

  it('answers a bad body among the burst with its typed error, and the rest still stream', async () => {
    server = await startServer(OPEN_LIMITS);
    const url = `${server.url}/api/chat`;
    const good = Array.from({ length: 100 }, (_, i) => postSse(url, chat(i)));
    const bad = postSse(url, { messages: [] });
    const refused = await bad;
    await refused.ended;
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.reads.map((r) => r.text).join(''))).toMatchObject({ error: { code: 'invalid_request' } });
    const streams = await Promise.all((await Promise.all(good)).map((s) => s.ended));
    for (const frames of streams) expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('upgrades every one of 60 WebSockets opened at once, each streaming its start', async () => {
    server = await startServer(OPEN_LIMITS);
    const url = server.url;
    const sockets = await Promise.all(Array.from({ length: 60 }, () => connectWs(url)));
    for (const [i, socket] of sockets.entries()) socket.send({ type: 'start', id: 'c1', ...chat(i) });
    for (const socket of sockets) {
      await socket.waitForFrame((f) => f.type === 'done', 10_000);
      expect(types(socket.frames)).toEqual(['start', 'token', 'token', 'token', 'done']);
      socket.close();
    }
  });

  it('gives every start of 10 WebSockets × 20 start frames at once its stream, named by its client id', async () => {
    server = await startServer(OPEN_LIMITS);
    const url = server.url;
    const sockets = await Promise.all(Array.from({ length: 10 }, () => connectWs(url)));
    for (const socket of sockets) for (let i = 0; i < 20; i++) socket.send({ type: 'start', id: `c${i}`, ...chat(i) });
    for (const socket of sockets) {
      const done = await socket.waitForCount((f) => f.type === 'done', 20, 10_000);
      expect(done.every((f) => f.type === 'done' && f.reason === 'stop')).toBe(true);
      const starts = socket.frames.filter((f) => f.type === 'start');
      expect(starts.map((f) => (f.type === 'start' ? f.id : undefined)).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
      for (const start of starts) expect(types(framesOf(socket.frames, start.streamId))).toEqual(['start', 'token', 'token', 'token', 'done']);
      socket.close();
    }
  });
});
