import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { once, waitFor } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs, framesOf, refusedUpgrade, wsUrl, type WsTestClient } from '../helpers/ws-client.js';
import { loggedFrames } from '../helpers/hub.js';

let server: TestServer | undefined;
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
});

const open = async (options: Parameters<typeof connectWs>[1] = {}) => {
  const client = await connectWs((server as TestServer).url, options);
  clients.push(client);
  return client;
};
const story = (id: string, tokens = 5, options: Record<string, unknown> = {}) => ({
  type: 'start',
  id,
  messages: [{ role: 'user', content: 'Tell me a story' }],
  options: { simulate: { tokens }, ...options },
});
const isDone = (streamId?: string) => (f: { type: string; streamId: string }) => f.type === 'done' && (streamId === undefined || f.streamId === streamId);

describe('WebSocket on /ws (real sockets, simulated model)', () => {
  it('streams a chat: start echoes the client id, tokens in order, exactly one done', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
    const c = await open();
    c.send(story('c1', 12));
    const done = await c.waitForFrame(isDone());
    const frames = framesOf(c.frames, done.streamId);
    expect(frames[0]).toMatchObject({ type: 'start', seq: 0, id: 'c1', transport: 'ws', protocol: 2 });
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(12);
    expect(frames.filter((f) => f.type === 'done')).toHaveLength(1);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(done).toMatchObject({ reason: 'stop' });
  });

  it('answers each kind of bad frame with its error code and keeps the socket usable', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
    const c = await open();
    c.ws.send('this is not json');
    c.ws.send(Buffer.from('{"type":"cancel","streamId":"st_x"}'), { binary: true });
    c.send({ type: 'launch', streamId: 'st_x' });
    c.send({ type: 'approve' });
    c.send({ type: 'start', id: 'c0', messages: 'hi' });
    c.send({ type: 'cancel', streamId: 'st_unknown' });
    c.send({ type: 'resume', streamId: 'st_unknown', lastSeq: 0 });
    c.send({ type: 'approve', callId: 'call_unknown' });
    c.send({ type: 'deny', callId: 'call_unknown' });
    c.send({ ...story('c9'), tools: ['no_such_tool'] });
    const errors = await c.waitForCount((f) => f.type === 'error', 10);
    expect(errors.map((f) => [(f as ServerFrameOf<'error'>).code, f.streamId])).toEqual([
      ['invalid_frame', '-'],
      ['invalid_frame', '-'],
      ['invalid_frame', '-'],
      ['invalid_frame', '-'],
      ['invalid_frame', 'c0'],
      ['unknown_stream', 'st_unknown'],
      ['unknown_stream', 'st_unknown'],
      ['unknown_call', '-'],
      ['unknown_call', '-'],
      ['unknown_tool', 'c9'],
    ]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.send(story('c1', 3));
    const done = await c.waitForFrame(isDone());
    expect(done).toMatchObject({ reason: 'stop' });
    expect(server.core.hub.size).toBe(1);
  });

  it('closes with 1009 when a message is larger than WS_MAX_PAYLOAD', async () => {
    server = await startServer({ WS_MAX_PAYLOAD: '1024' });
    const c = await open();
    c.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'x'.repeat(2_000) }] });
    const { code } = await c.closed;
    expect(code).toBe(1009);
    expect(server.core.hub.size).toBe(0);
  });

  it('interleaves two streams on one socket, each complete and in order', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '200' });
    const c = await open();
    c.send(story('a', 20));
    c.send(story('b', 20));
    await c.waitForCount(isDone(), 2);
    const [a, b] = ['a', 'b'].map((id) => (c.frames.find((f) => f.type === 'start' && f.id === id) as ServerFrameOf<'start'>).streamId);
    for (const id of [a, b] as string[]) {
      const own = framesOf(c.frames, id);
      expect(own.map((f) => f.seq)).toEqual(own.map((_, i) => i));
      expect(own.filter((f) => f.type === 'token')).toHaveLength(20);
    }
    // Interleaved on the wire: each stream has frames before the other's last token.
    const position = (id: string, pick: 'first' | 'last') => {
      const indexes = c.frames.flatMap((f, i) => (f.streamId === id && f.type === 'token' ? [i] : []));
      return pick === 'first' ? (indexes[0] as number) : (indexes.at(-1) as number);
    };
    expect(position(b as string, 'first')).toBeLessThan(position(a as string, 'last'));
    expect(position(a as string, 'first')).toBeLessThan(position(b as string, 'last'));
  });

  it('cancel aborts the generation at once and ends the stream with done cancelled, nothing after it', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '50' });
    const c = await open();
    c.send(story('c1', 100_000));
    const token = await c.waitForFrame((f) => f.type === 'token');
    const stream = server.core.hub.get(token.streamId);
    c.send({ type: 'cancel', streamId: token.streamId });
    const done = await c.waitForFrame(isDone(token.streamId));
    expect(done).toMatchObject({ reason: 'cancelled' });
    expect(stream?.signal.aborted).toBe(true);
    expect((await server.core.metrics.upstreamAborts.get()).values).toEqual([expect.objectContaining({ labels: { cause: 'cancelled' }, value: 1 })]);
    const last = framesOf(c.frames, token.streamId).at(-1);
    expect(last).toBe(done);
  });

  it('a socket that closes detaches its views: without a grace window the generation is aborted', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '50' });
    const c = await open();
    c.send(story('c1', 100_000));
    const token = await c.waitForFrame((f) => f.type === 'token');
    const stream = server.core.hub.get(token.streamId);
    c.ws.close();
    await waitFor(() => stream?.done, 'the stream to end');
    expect((await loggedFrames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('resumes a stream on a new socket within its grace window, from the last seq seen', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '100' });
    const first = await open();
    first.send(story('c1', 30, { resumeGraceMs: 10_000 }));
    const seen = await first.waitForCount((f) => f.type === 'token', 3);
    const { streamId } = seen[0] as ServerFrameOf<'token'>;
    const lastSeq = Math.max(...framesOf(first.frames, streamId).map((f) => f.seq));
    first.ws.terminate();
    const second = await open();
    const start = framesOf(first.frames, streamId)[0] as ServerFrameOf<'start'>;
    second.send({ type: 'resume', streamId, lastSeq: -1 });
    expect(await second.waitForFrame((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' });
    second.send({ type: 'resume', streamId, lastSeq, token: start.approvalToken });
    const done = await second.waitForFrame(isDone(streamId));
    expect(done).toMatchObject({ reason: 'stop' });
    // The refused resume's error names the stream too: the replay is the rest.
    const resumed = framesOf(second.frames, streamId).filter((f) => f.type !== 'error');
    expect(resumed[0]?.seq).toBe(lastSeq + 1);
    expect([...framesOf(first.frames, streamId).filter((f) => f.seq <= lastSeq), ...resumed].map((f) => f.seq)).toEqual(
      Array.from({ length: 32 }, (_, i) => i),
    );
  });

  it('at shutdown ends open streams with server_shutdown and done, then closes the socket with 1001', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '50' });
    const c = await open();
    c.send(story('c1', 100_000));
    const token = await c.waitForFrame((f) => f.type === 'token');
    await server.close();
    const { code } = await c.closed;
    expect(code).toBe(1001);
    expect(framesOf(c.frames, token.streamId).slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'server_shutdown', retryable: true }),
      expect.objectContaining({ type: 'done', reason: 'error' }),
    ]);
  });
});

describe('WebSocket liveness', () => {
  it('terminates a peer that does not answer pings', async () => {
    server = await startServer({ HEARTBEAT_MS: '30' });
    const c = await open({ autoPong: false });
    await once(c.ws, 'ping');
    const { code } = await c.closed;
    // 1006: the server dropped the TCP connection without a closing handshake (terminate).
    expect(code).toBe(1006);
  });

  it('keeps a peer that answers pings', async () => {
    // A period a loaded machine's client can answer within: a pong later than one period is a dead peer.
    server = await startServer({ HEARTBEAT_MS: '100' });
    const c = await open();
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await waitFor(() => pings >= 5, 'five pings');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('WebSocket upgrade checks', () => {
  it('refuses a foreign Origin with 403 before upgrading', async () => {
    server = await startServer();
    const refused = await refusedUpgrade(server.url, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'forbidden', message: 'This origin may not open a WebSocket here.' } });
  });

  it("by default accepts no Origin, the server's own origin and localhost origins", async () => {
    server = await startServer();
    for (const origin of [undefined, server.url, 'http://localhost:5173']) {
      const c = await open(origin ? { origin } : {});
      expect(c.ws.readyState).toBe(WebSocket.OPEN);
    }
  });

  it('with ALLOWED_ORIGINS accepts only those origins', async () => {
    server = await startServer({ ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com' });
    expect((await open({ origin: 'https://app.example.com' })).ws.readyState).toBe(WebSocket.OPEN);
    expect((await refusedUpgrade(server.url, { origin: 'http://localhost:5173' })).status).toBe(403);
    expect((await refusedUpgrade(server.url, { origin: server.url })).status).toBe(403);
  });

  it('refuses upgrades on any other path with 404', async () => {
    server = await startServer();
    expect((await refusedUpgrade(server.url, { path: '/api/chat' })).status).toBe(404);
  });

  it('serves the WebSocket on the same port as the HTTP routes', async () => {
    server = await startServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const c = await open();
    expect(c.ws.url).toBe(wsUrl(server.url));
  });
});
