import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { ClientFrame, ServerFrame } from '../../shared/protocol.js';
import { createChatClient, type ChatClient, type Fallback, type WebSocketCtor } from '../../client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NodeWebSocket, ask, firstToken, nextToolCall, trackingWebSocket, unreachableWebSocket } from './fixtures.js';
import { loggedFrames } from '../helpers/hub.js';

let server: TestServer;
const clients: ChatClient[] = [];
const make = (...args: Parameters<typeof createChatClient>) => {
  const c = createChatClient(...args);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.close());

describe('WebSocket transport', () => {
  it('runs concurrent streams over ONE socket, each matched to its request by the echoed id', async () => {
    const { ctor, sockets } = trackingWebSocket();
    const client = make({ baseUrl: server.url, transport: 'ws', WebSocket: ctor });
    const lengths = [10, 20, 30];
    const streams = lengths.map((tokens, i) => client.chat(ask(`story number ${i}`, { options: { simulate: { tokens } } })));
    const results = await Promise.all(streams.map((s) => s.result));

    expect(sockets).toHaveLength(1);
    expect(results.map((r) => r.reason)).toEqual(['stop', 'stop', 'stop']);
    expect(results.map((r) => r.text.split(' ').length)).toEqual(lengths);
    expect(new Set(results.map((r) => r.streamId)).size).toBe(3);
    for (const [i, r] of results.entries()) {
      expect((await loggedFrames(server.core.hub.get(r.streamId!)))[0]).toMatchObject({ type: 'start', transport: 'ws' });
      expect(streams[i]!.stats().tokens).toBe(lengths[i]);
    }
  });

  it('auto falls back to SSE when the WebSocket cannot connect, says so, and approves over HTTP', async () => {
    const client = make({ baseUrl: server.url, WebSocket: unreachableWebSocket(), connectTimeoutMs: 2_000 });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const fallbacks: Fallback[] = [];
    stream.on('fallback', (f) => fallbacks.push(f));
    const call = await nextToolCall(stream);
    await call.approve();
    const result = await stream.result;

    expect(fallbacks).toEqual([{ from: 'ws', to: 'sse', reason: expect.any(String) }]);
    expect(stream.fallback).toEqual(fallbacks[0]);
    expect(result.transport).toBe('sse');
    expect(result.reason).toBe('stop');
    expect(result.text).toContain('Paris');
  });

  it('an explicit ws transport whose first connect fails tries again within the window, and the chat completes', async () => {
    let made = 0;
    // The first socket dials a closed port (a blip); every later one reaches the server.
    class FlakyOnce extends globalThis.WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(made++ === 0 ? 'ws://127.0.0.1:1/ws' : url, protocols);
      }
    }
    const client = make({ baseUrl: server.url, transport: 'ws', WebSocket: FlakyOnce as unknown as WebSocketCtor });
    const result = await client.chat(ask('hello')).result;
    expect(made).toBeGreaterThanOrEqual(2);
    expect([result.transport, result.reason]).toEqual(['ws', 'stop']);
  });

  it('an explicit ws transport does not fall back: once its reconnect window is spent, the chat ends with an error', async () => {
    const client = make({ baseUrl: server.url, transport: 'ws', WebSocket: unreachableWebSocket(), connectTimeoutMs: 2_000, reconnectWindowMs: 0 });
    const stream = client.chat(ask('hello'));
    let fellBack = false;
    stream.on('fallback', () => (fellBack = true));
    const result = await stream.result;
    expect(result.reason).toBe('error');
    expect(result.error?.message).toMatch(/WebSocket could not connect/);
    expect(fellBack).toBe(false);
  });

  it('a dropped socket reconnects and resumes every open stream from its last seq', async () => {
    const prompt = ask('a story that survives a dropped socket', { options: { simulate: { tokens: 400 }, resumeGraceMs: 10_000 } });
    const reference = await make({ baseUrl: server.url, transport: 'sse' }).chat(prompt).result;

    const { ctor, sockets } = trackingWebSocket();
    const client = make({ baseUrl: server.url, transport: 'ws', WebSocket: ctor });
    const stream = client.chat(prompt);
    const reconnects: number[] = [];
    stream.on('reconnect', (r) => reconnects.push(r.lastSeq));
    await firstToken(stream);
    sockets[0]!.terminate();
    const result = await stream.result;

    expect(result.reason).toBe('stop');
    expect(result.text).toBe(reference.text);
    expect(sockets).toHaveLength(2);
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]).toBeGreaterThanOrEqual(1);
    expect(stream.stats()).toMatchObject({ reconnects: 1, tokens: 400 });
  });

  it('after a resume, a pending tool call is decided over the new socket: its token made it the owner', async () => {
    const { ctor, sockets } = trackingWebSocket();
    const requests: string[] = [];
    const client = make({
      baseUrl: server.url,
      transport: 'ws',
      WebSocket: ctor,
      fetch: (input, init) => (requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`), fetch(input, init)),
    });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'], options: { resumeGraceMs: 10_000 } }));
    const call = await nextToolCall(stream);
    const resumed = new Promise((resolve) => stream.on('reconnect', resolve));
    sockets[0]!.terminate();
    await resumed;
    await call.approve();
    const result = await stream.result;

    expect(requests).toEqual([]);
    expect(sockets).toHaveLength(2);
    expect(call.status).toBe('approved');
    expect(result).toMatchObject({ reason: 'stop', transport: 'ws' });
    expect(result.text).toContain('Paris');
    expect(stream.toolCalls).toHaveLength(1);
  });

  it('re-views a stream on the same socket after the server dropped it as a slow consumer', async () => {
    // A scripted server: 10 tokens, then `slow_consumer`; on `resume` it replays from two
    // frames before lastSeq (the client drops the overlap) to the end.
    const streamId = 'st_scripted';
    const frames: ServerFrame[] = [{ type: 'start', streamId, seq: 0, protocol: 2, model: 'scripted', transport: 'ws' }];
    for (let i = 0; i < 20; i++) frames.push({ type: 'token', streamId, seq: i + 1, text: `${i ? ' ' : ''}w${i}` });
    frames.push({ type: 'done', streamId, seq: 21, reason: 'stop' });
    const received: ClientFrame[] = [];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as ClientFrame;
        received.push(frame);
        const out = (f: ServerFrame) => socket.send(JSON.stringify(f));
        if (frame.type === 'start') {
          out({ ...(frames[0] as Extract<ServerFrame, { type: 'start' }>), id: frame.id });
          frames.slice(1, 11).forEach(out);
          out({ type: 'error', streamId, seq: 10, code: 'slow_consumer', message: 'too slow', retryable: true });
        } else if (frame.type === 'resume') {
          frames.filter((f) => f.seq > frame.lastSeq - 2).forEach(out);
        }
      });
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    try {
      const client = make({ baseUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, transport: 'ws', WebSocket: NodeWebSocket });
      const stream = client.chat(ask('hello'));
      const errors: string[] = [];
      stream.on('error', (e) => errors.push(e.code));
      const result = await stream.result;

      expect(result.reason).toBe('stop');
      expect(result.error).toBeUndefined();
      expect(result.text).toBe(Array.from({ length: 20 }, (_, i) => `w${i}`).join(' '));
      expect(errors).toEqual(['slow_consumer']);
      expect(received.map((f) => f.type)).toEqual(['start', 'resume']);
      expect(received[1]).toEqual({ type: 'resume', streamId, lastSeq: 10 });
      expect(stream.stats()).toMatchObject({ reconnects: 1, tokens: 20 });
    } finally {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});
