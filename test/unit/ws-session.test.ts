import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/settings/config.js';
import { createCore, type Core } from '../../server/service/core.js';
import { createLogger } from '../../server/observability/log.js';
import { createWsSession, type WsSession, type WsSocket } from '../../server/edge/ws/ws-session.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { recordingTools, type ToolRun } from '../helpers/recording-tools.js';
import { loggedFrames } from '../helpers/hub.js';

/** ws-mock's connection (CommonJS, untyped): `send` pushes to `messages`, `sendMsgToServer` emits `message`. */
interface MockConnection extends EventEmitter {
  messages: string[];
  readyState: number;
  send(msg: string): void;
  close(): void;
  sendMsgToServer(msg: unknown): void;
  closeConnection(): void;
}
const require = createRequire(import.meta.url);
const { WsServer } = require('ws-mock') as { WsServer: new () => { addConnection(): MockConnection } };

let core: Core | undefined;
let runs: ToolRun[];
const mockServer = new WsServer();

afterEach(async () => {
  await core?.control.shutdown(100);
  core = undefined;
});

function makeCore(env: Record<string, string> = {}) {
  const config = loadConfig({ LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '2000', ...env });
  const tools = recordingTools();
  runs = tools.runs;
  core = createCore(config, { log: createLogger(config), tools: tools.registry });
  return core;
}

/** A mock connection with a session on it; `frames()` decodes what the server sent. */
function connect(options: { closing?: () => boolean } = {}) {
  const conn = mockServer.addConnection();
  let closeCode: number | undefined;
  const close = conn.close.bind(conn);
  // ws-mock's close takes no code and emits nothing; record the code and emit `close` as ws does.
  conn.close = ((code?: number) => {
    closeCode = code;
    close();
    conn.emit('close');
  }) as MockConnection['close'];
  const session: WsSession = createWsSession(conn as unknown as WsSocket, core ?? makeCore(), {
    highWaterBytes: 64 * 1024,
    maxBufferedBytes: 1 << 20,
    ...options,
  });
  const frames = (): ServerFrame[] =>
    conn.messages.map((m) => {
      const decoded = decodeServerFrame(m);
      if (!decoded.ok) throw new Error(`the server sent an invalid frame: ${m}`);
      return decoded.value;
    });
  const send = (frame: unknown) => conn.sendMsgToServer(JSON.stringify(frame));
  const frame = <T extends ServerFrame['type']>(type: T, match: (f: ServerFrameOf<T>) => boolean = () => true) =>
    waitFor(() => frames().find((f): f is ServerFrameOf<T> => f.type === type && match(f as ServerFrameOf<T>)), `a ${type} frame`);
  return { conn, session, frames, send, frame, closeCode: () => closeCode };
}

const weather = (id = 'c1', extra: Record<string, unknown> = {}) => ({
  type: 'start',
  id,
  messages: [{ role: 'user', content: "What's the weather in Paris?" }],
  tools: ['get_weather'],
  ...extra,
});
const story = (id: string, tokens = 5) => ({ type: 'start', id, messages: [{ role: 'user', content: 'Tell me a story' }], options: { simulate: { tokens } } });

describe('WebSocket session (ws-mock)', () => {
  it('answers text that is not JSON with invalid_frame on the stream-less marker, then runs a chat on the same socket', async () => {
    makeCore();
    const c = connect();
    c.conn.sendMsgToServer('garbage{');
    expect(c.frames()[0]).toEqual({ type: 'error', streamId: '-', seq: 0, code: 'invalid_frame', message: 'The message is not JSON.', retryable: false });
    c.send(story('c1', 3));
    const done = await c.frame('done');
    const start = c.frames().find((f) => f.type === 'start');
    expect(start).toMatchObject({ id: 'c1', transport: 'ws', seq: 0 });
    expect(done).toMatchObject({ reason: 'stop', streamId: start?.streamId });
    expect(c.frames().filter((f) => f.type === 'token')).toHaveLength(3);
  });

  it('answers a binary message with invalid_frame', () => {
    makeCore();
    const c = connect();
    c.conn.emit('message', Buffer.from(JSON.stringify(story('c1'))), true);
    expect(c.frames()).toEqual([expect.objectContaining({ type: 'error', code: 'invalid_frame', streamId: '-' })]);
    expect(core?.hub.active()).toHaveLength(0);
  });

  it('answers an unknown type with invalid_frame that names it', () => {
    makeCore();
    const c = connect();
    c.send({ type: 'subscribe', streamId: 'st_x' });
    expect(c.frames()[0]).toMatchObject({ type: 'error', code: 'invalid_frame', streamId: '-' });
    expect((c.frames()[0] as { message: string }).message).toContain('"subscribe"');
  });

  it('routes a start that fails its schema to the client id and starts nothing', () => {
    makeCore();
    const c = connect();
    c.send({ type: 'start', id: 'c9', messages: [{ role: 'robot', content: 'hi' }] });
    expect(c.frames()).toEqual([expect.objectContaining({ type: 'error', code: 'invalid_frame', streamId: 'c9', seq: 0 })]);
    expect(core?.hub.active()).toHaveLength(0);
  });

  it('answers a start with an unknown tool with unknown_tool on the client id', async () => {
    makeCore();
    const c = connect();
    c.send({ ...story('c2'), tools: ['launch_rockets'] });
    await c.session.idle();
    expect(c.frames()).toEqual([expect.objectContaining({ type: 'error', code: 'unknown_tool', streamId: 'c2' })]);
    expect(core?.hub.active()).toHaveLength(0);
  });

  it('refuses a new stream with server_shutdown while the server closes', async () => {
    makeCore();
    const c = connect({ closing: () => true });
    c.send(story('c3'));
    await c.session.idle();
    expect(c.frames()).toEqual([expect.objectContaining({ type: 'error', code: 'server_shutdown', streamId: 'c3', retryable: true })]);
  });

  it('answers cancel and resume of an unknown stream with unknown_stream naming it', async () => {
    makeCore();
    const c = connect();
    c.send({ type: 'cancel', streamId: 'st_nope' });
    c.send({ type: 'resume', streamId: 'st_gone', lastSeq: 3 });
    await c.session.idle();
    expect(c.frames()).toEqual([
      expect.objectContaining({ type: 'error', code: 'unknown_stream', streamId: 'st_nope' }),
      expect.objectContaining({ type: 'error', code: 'unknown_stream', streamId: 'st_gone' }),
    ]);
  });

  it('answers a decision on an unknown call with unknown_call on the stream-less marker', async () => {
    makeCore();
    const c = connect();
    c.send({ type: 'approve', callId: 'call_nope' });
    c.send({ type: 'deny', callId: 'call_nope' });
    await c.session.idle();
    expect(c.frames().map((f) => [f.type, (f as { code?: string }).code, f.streamId])).toEqual([
      ['error', 'unknown_call', '-'],
      ['error', 'unknown_call', '-'],
    ]);
  });

  it('shows the weather call for approval, runs nothing before the decision, then runs it once on approve', async () => {
    makeCore();
    const c = connect();
    c.send(weather());
    const call = await c.frame('tool_call');
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
    expect(call.expiresAt).toBeGreaterThan(Date.now());
    expect(core?.approvals.pending).toBe(1);
    expect(runs).toEqual([]);
    expect(c.frames().some((f) => f.type === 'tool_result')).toBe(false);
    c.send({ type: 'approve', callId: call.callId });
    const result = await c.frame('tool_result');
    expect(result).toMatchObject({ callId: call.callId, ok: true, result: { city: 'Paris' } });
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    await c.frame('done');
  });

  it('answers a replayed approval with already_decided on the stream, and runs the tool only once', async () => {
    makeCore();
    const c = connect();
    c.send(weather());
    const call = await c.frame('tool_call');
    c.send({ type: 'approve', callId: call.callId });
    await c.frame('tool_result');
    c.send({ type: 'approve', callId: call.callId });
    const error = await c.frame('error');
    expect(error).toMatchObject({ code: 'already_decided', streamId: call.streamId });
    await c.frame('done');
    expect(runs).toHaveLength(1);
  });

  it('refuses a decision from a socket that does not own the stream, and leaves the call pending for its owner', async () => {
    makeCore();
    const owner = connect();
    const stranger = connect();
    owner.send(weather());
    const call = await owner.frame('tool_call');
    stranger.send({ type: 'approve', callId: call.callId });
    await stranger.session.idle();
    expect(stranger.frames()).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden', streamId: '-' })]);
    expect(core?.approvals.pending).toBe(1);
    expect(runs).toEqual([]);
    owner.send({ type: 'approve', callId: call.callId });
    await owner.frame('tool_result', (f) => f.ok);
    expect(runs).toHaveLength(1);
  });

  it('on deny, never runs the tool and tells the model why', async () => {
    makeCore();
    const c = connect();
    c.send(weather());
    const call = await c.frame('tool_call');
    c.send({ type: 'deny', callId: call.callId, reason: 'not now' });
    const result = await c.frame('tool_result');
    expect(result).toMatchObject({ ok: false, error: { code: 'denied', message: 'The user denied this call: not now.' } });
    await c.frame('done', (f) => f.reason === 'stop');
    expect(runs).toEqual([]);
  });

  it('cancel aborts the stream at once and delivers done cancelled', async () => {
    makeCore({ SIM_TOKENS_PER_SECOND: '50' });
    const c = connect();
    c.send(story('c1', 10_000));
    const token = await c.frame('token');
    const stream = core?.hub.get(token.streamId);
    c.send({ type: 'cancel', streamId: token.streamId });
    await c.session.idle();
    expect(stream?.signal.aborted).toBe(true);
    await c.frame('done', (f) => f.reason === 'cancelled');
    expect(c.session.viewing).toBe(0);
  });

  it("refuses to cancel another socket's stream (unknown_stream) and the stream goes on", async () => {
    makeCore({ SIM_TOKENS_PER_SECOND: '200' });
    const owner = connect();
    const stranger = connect();
    owner.send(story('c1', 20));
    const token = await owner.frame('token');
    stranger.send({ type: 'cancel', streamId: token.streamId });
    await stranger.session.idle();
    expect(stranger.frames()).toEqual([expect.objectContaining({ code: 'unknown_stream', streamId: token.streamId })]);
    await owner.frame('done', (f) => f.reason === 'stop');
  });

  it('multiplexes two streams on one socket, each echoing its client id and ending with its own done', async () => {
    makeCore({ SIM_TOKENS_PER_SECOND: '500' });
    const c = connect();
    c.send(story('a', 8));
    c.send(story('b', 8));
    await waitFor(() => c.frames().filter((f) => f.type === 'done').length === 2, 'two done frames');
    const starts = c.frames().filter((f): f is ServerFrameOf<'start'> => f.type === 'start');
    expect(starts.map((s) => s.id).sort()).toEqual(['a', 'b']);
    for (const s of starts) {
      const own = c.frames().filter((f) => f.streamId === s.streamId);
      expect(own.map((f) => f.seq)).toEqual(own.map((_, i) => i));
      expect(own.filter((f) => f.type === 'token')).toHaveLength(8);
      expect(own.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    }
  });

  it('detaches its views when the socket closes: with no grace the generation is aborted', async () => {
    makeCore({ SIM_TOKENS_PER_SECOND: '50' });
    const c = connect();
    c.send(story('c1', 10_000));
    const token = await c.frame('token');
    const stream = core?.hub.get(token.streamId);
    c.conn.closeConnection();
    expect(stream?.signal.aborted).toBe(true);
    await waitFor(() => stream?.done, 'the stream to end');
    expect((await loggedFrames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('lets another socket resume after a close within the grace window, from its last seq, with the stream token only', async () => {
    makeCore({ SIM_TOKENS_PER_SECOND: '200' });
    const first = connect();
    first.send({ ...story('c1', 30), options: { simulate: { tokens: 30 }, resumeGraceMs: 5_000 } });
    const token = await first.frame('token');
    first.conn.closeConnection();
    const stream = core?.hub.get(token.streamId);
    expect(stream?.signal.aborted).toBe(false);
    const secret = (first.frames()[0] as { approvalToken?: string }).approvalToken as string;
    const stranger = connect();
    stranger.send({ type: 'resume', streamId: token.streamId, lastSeq: -1 });
    // Named with the id the stranger sent, so a client's resume ends instead of hanging.
    expect(await stranger.frame('error')).toMatchObject({ code: 'forbidden', streamId: token.streamId });
    expect(stranger.frames().filter((f) => f.type !== 'error')).toEqual([]);
    const second = connect();
    second.send({ type: 'resume', streamId: token.streamId, lastSeq: -1, token: secret });
    await second.frame('done', (f) => f.reason === 'stop');
    const got = second.frames();
    expect(got.map((f) => f.seq)).toEqual(got.map((_, i) => i));
    expect(got[0]).toMatchObject({ type: 'start', id: 'c1' });
    const partial = connect();
    partial.send({ type: 'resume', streamId: token.streamId, lastSeq: 25, token: secret });
    await partial.frame('done');
    expect(partial.frames().map((f) => f.seq)).toEqual([26, 27, 28, 29, 30, 31]);
  });

  it('on shutdown sends what it holds and closes with 1001', async () => {
    makeCore();
    const c = connect();
    const closed = c.session.shutdown();
    await closed;
    expect(c.closeCode()).toBe(1001);
  });
});
