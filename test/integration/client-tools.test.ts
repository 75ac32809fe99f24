import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatClient, type ChatClient, type StreamRef, type TransportName } from '../../client/index.js';
import { LIMITS, type ServerFrame, type ServerFrameOf } from '../../shared/protocol.js';
import { canonicalSha256 } from '../../server/engine/approval-record.js';
import type { ModelEvent, ModelRequest } from '../../server/models/provider.js';
import { defineClientTool } from '../../server/tools/client-tool.js';
import { createDemoToolList } from '../../server/tools/index.js';
import { createToolRegistry } from '../../server/tools/registry.js';
import { NodeWebSocket } from '../client/fixtures.js';
import { waitFor } from '../helpers/events.js';
import { gate, scriptedProvider } from '../helpers/scripted-provider.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startTcpValve, type TcpValve } from '../helpers/tcp-valve.js';
import { getSse, postSse, type SseSession } from '../helpers/sse-client.js';
import { connectWs, type WsTestClient } from '../helpers/ws-client.js';

/**
 * Client tools end to end on real sockets: the model calls a tool the browser runs, tokenwire's
 * client (here in Node) runs it when its `tool_run` frame arrives and answers over the stream's
 * transport, and the answer is what the model's next turn is told. Refusals are typed.
 */

const localTime = defineClientTool({ name: 'get_local_time', description: 'The browser time.', parameters: z.strictObject({}), timeoutMs: 10_000 });
const locate = defineClientTool({ name: 'get_location', description: 'Where the user is.', parameters: z.strictObject({ precise: z.boolean() }), needsApproval: true });
const typed = defineClientTool({ name: 'typed', description: 'Checked output.', parameters: z.strictObject({}), outputSchema: z.strictObject({ time: z.string() }) });
const loose = defineClientTool({ name: 'loose', description: 'Strips keys.', parameters: z.strictObject({}), outputSchema: z.object({ time: z.string() }) });
const big = defineClientTool({ name: 'big', description: 'A schema that makes a BigInt.', parameters: z.strictObject({}), outputSchema: z.object({ n: z.number() }).transform((v) => BigInt(v.n)) });
const hurried = defineClientTool({ name: 'hurried', description: 'Must answer fast.', parameters: z.strictObject({}), timeoutMs: 300 });
// Long enough for a reconnect, short enough that a lost answer fails the test as tool_timeout.
const patient = defineClientTool({ name: 'patient', description: 'Waits a few seconds.', parameters: z.strictObject({}), timeoutMs: 5_000 });

/** A model that calls `name` with `args`, then says exactly what the tool message told it. */
function callsThenEchoes(name: string, args: Record<string, unknown>) {
  const call = async function* (): AsyncIterable<ModelEvent> {
    yield { type: 'tool_call_delta', index: 0, id: 'call_1', name, argumentsDelta: JSON.stringify(args) };
    yield { type: 'finish', reason: 'tool_calls' };
  };
  const echo = async function* (request: ModelRequest): AsyncIterable<ModelEvent> {
    yield { type: 'text', text: request.messages.at(-1)?.content ?? '' };
    yield { type: 'finish', reason: 'stop' };
  };
  return scriptedProvider([call, echo]);
}

let server: TestServer | undefined;
let client: ChatClient | undefined;
let raw: { close(): void } | undefined;
let valve: TcpValve | undefined;
afterEach(async () => {
  client?.close();
  raw?.close();
  await valve?.close();
  await server?.close();
  server = client = raw = valve = undefined;
});

async function serve(provider: ReturnType<typeof scriptedProvider>, env: Record<string, string> = {}): Promise<TestServer> {
  server = await startServer(env, { provider, tools: createToolRegistry([...createDemoToolList().filter((t) => t.name !== 'get_local_time'), localTime, locate, hurried, typed, loose, big, patient]) });
  return server;
}

// A resume window, so a client that leaves does not end the stream it was to answer.
const ask = (tool: string) => ({ messages: [{ role: 'user' as const, content: `use ${tool}` }], tools: [tool], options: { resumeGraceMs: 30_000 } });

/** What the model's second turn was told about the call: the tool message's JSON. */
const toldModel = (provider: ReturnType<typeof scriptedProvider>) => JSON.parse(provider.requests[1]?.messages.at(-1)?.content ?? 'null') as unknown;

/** A raw view of a chat on one transport, for the frames and the wire-level refusals. */
interface RawChat {
  waitForFrame(match: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /**
   * Sends a tool output as this transport's client would (a string: the output's JSON text as
   * is); resolves with the refusal's code, or undefined when taken.
   */
  answer(callId: string, body: Record<string, unknown> | string, options?: { token?: string | null }): Promise<string | undefined>;
  start: ServerFrameOf<'start'>;
  close(): void;
}

async function openRaw(transport: TransportName, url: string, tool: string): Promise<RawChat> {
  if (transport === 'sse') {
    const session: SseSession = await postSse(`${url}/api/chat`, ask(tool));
    const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    return {
      start,
      waitForFrame: (match) => session.waitForFrame(match),
      async answer(callId, body, options = {}) {
        const token = options.token === undefined ? start.streamToken : options.token;
        const response = await fetch(`${url}/api/tool-outputs/${callId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { 'x-stream-token': token } : {}) },
          body: typeof body === 'string' ? `{"output":${body}}` : JSON.stringify(body),
        });
        if (response.ok) return undefined;
        const { error } = (await response.json()) as { error: { code: string } };
        return `${response.status} ${error.code}`;
      },
      close: () => session.disconnect(),
    };
  }
  const socket: WsTestClient = await connectWs(url);
  socket.send({ type: 'start', id: 'c1', ...ask(tool) });
  const start = (await socket.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
  return {
    start,
    waitForFrame: (match) => socket.waitForFrame(match),
    async answer(callId, body) {
      const isError = (f: ServerFrame) => f.type === 'error';
      const isResult = (f: ServerFrame) => f.type === 'tool_result' && f.callId === callId;
      const errors = socket.frames.filter(isError).length;
      const results = socket.frames.filter(isResult).length;
      if (typeof body === 'string') socket.ws.send(`{"type":"tool_output","callId":${JSON.stringify(callId)},"output":${body}}`);
      else socket.send({ type: 'tool_output', callId, ...body });
      // A refusal is an error frame; a taken output is followed by the call's tool_result.
      const next = await Promise.race([
        socket.waitForCount(isError, errors + 1).then((all) => all.at(-1) as ServerFrameOf<'error'>),
        socket.waitForCount(isResult, results + 1).then(() => undefined),
      ]);
      return next === undefined ? undefined : next.code;
    },
    close: () => socket.close(),
  };
}

describe.each<TransportName>(['sse', 'ws'])('client tools over %s', (transport) => {
  it("runs a client tool in tokenwire's client on its tool_run frame and tells the model its output, audited by digest", async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url, core } = await serve(provider);
    const seen: { args: unknown; callId: string; aborted: boolean }[] = [];
    const output = { timeZone: 'Europe/Paris', time: '12:34' };
    client = createChatClient({
      baseUrl: url,
      transport,
      WebSocket: NodeWebSocket,
      clientTools: {
        get_local_time: (args, { callId, signal }) => {
          seen.push({ args, callId, aborted: signal.aborted });
          return output;
        },
      },
    });
    const stream = client.chat(ask('get_local_time'));
    const result = await stream.result;

    expect(result.reason).toBe('stop');
    const [call] = stream.toolCalls;
    expect(call).toMatchObject({ name: 'get_local_time', runsOn: 'client', approval: 'not_required', status: 'not_required' });
    expect(seen).toEqual([{ args: {}, callId: call?.callId, aborted: false }]);
    expect(stream.toolResults).toEqual([{ callId: call?.callId, ok: true, result: output }]);
    expect(toldModel(provider)).toEqual({ ok: true, result: output });
    expect(result.text).toBe(JSON.stringify({ ok: true, result: output }));
    const frames = stream.recentFrames().map((f) => f.type);
    expect(frames.indexOf('tool_run')).toBeGreaterThan(frames.indexOf('tool_call'));
    const [record] = await core.audit.forStream(result.streamId as string);
    expect(record).toMatchObject({ tool: 'get_local_time', decision: 'not_required', outcome: 'ok', clientOutput: { ok: true, sha256: canonicalSha256(output), transport: transport === 'ws' ? 'ws' : 'http' } });
  });

  it('asks for the approval first, then runs the client tool; a handler that throws sends its error to the model, audited as client_error', async () => {
    const provider = callsThenEchoes('get_location', { precise: true });
    const { url, core } = await serve(provider);
    const order: string[] = [];
    client = createChatClient({
      baseUrl: url,
      transport,
      WebSocket: NodeWebSocket,
      clientTools: {
        get_location: () => {
          order.push('ran');
          throw Object.assign(new Error('Location permission was refused.'), { code: 'permission_denied' });
        },
      },
    });
    const stream = client.chat(ask('get_location'));
    stream.on('tool_call', (call) => {
      order.push(`tool_call ${call.approval}`);
      void call.approve().then(() => order.push('approved'));
    });
    const result = await stream.result;

    expect(order.slice(0, 2)).toEqual(['tool_call required', 'approved']);
    expect(order).toContain('ran');
    const error = { code: 'permission_denied', message: 'Location permission was refused.' };
    expect(toldModel(provider)).toEqual({ ok: false, error });
    expect(stream.toolResults[0]).toMatchObject({ ok: false, error });
    expect(result.reason).toBe('stop');
    const [record] = await core.audit.forStream(result.streamId as string);
    expect(record).toMatchObject({ decision: 'approved', outcome: 'client_error', clientOutput: { ok: false, code: 'permission_denied' } });
  });

  it("audits a client's error as client_error whatever code the client wrote, keeping its code in clientOutput", async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url, core } = await serve(provider);
    const chat = await openRaw(transport, url, 'get_local_time');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(await chat.answer(run.callId, { error: { code: 'ok', message: 'Pretends to have run.' } })).toBeUndefined();
    await chat.waitForFrame((f) => f.type === 'done');
    const [record] = await core.audit.forStream(chat.start.streamId);
    expect(record).toMatchObject({ decision: 'not_required', outcome: 'client_error', clientOutput: { ok: false, code: 'ok' } });
  });

  it('runs a client tool with the arguments a person edited when approving, and the model is told so', async () => {
    const provider = callsThenEchoes('get_location', { precise: true });
    const { url } = await serve(provider);
    const seen: unknown[] = [];
    client = createChatClient({ baseUrl: url, transport, WebSocket: NodeWebSocket, clientTools: { get_location: (args) => (seen.push(args), { city: 'Paris' }) } });
    const stream = client.chat(ask('get_location'));
    stream.on('tool_call', (call) => void call.approve({ args: { precise: false } }));
    const result = await stream.result;
    expect(seen).toEqual([{ precise: false }]);
    expect(toldModel(provider)).toEqual({ ok: true, result: { city: 'Paris' }, edited: true, args: { precise: false } });
    expect(result.reason).toBe('stop');
  });

  it('refuses bad outputs with typed errors, takes one, and refuses its replay as already_decided', async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url } = await serve(provider);
    const chat = await openRaw(transport, url, 'get_local_time');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    const status = (code: string, http: number) => (transport === 'sse' ? `${http} ${code}` : code);

    expect(await chat.answer(run.callId, { output: 'x'.repeat(LIMITS.toolOutputBytes + 1) })).toBe(status('payload_too_large', 413));
    expect(await chat.answer(run.callId, { output: 1, error: { code: 'x', message: 'y' } })).toBe(transport === 'sse' ? '400 invalid_request' : 'invalid_frame');
    expect(await chat.answer(run.callId, { error: { code: 'has spaces', message: 'y' } })).toBe(transport === 'sse' ? '400 invalid_request' : 'invalid_frame');
    expect(await chat.answer(run.callId, { output: '\ud800' })).toBe(status('invalid_request', 400));
    // Thousands of levels deep (about 30 KB): refused for its depth, never an internal error.
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    expect(await chat.answer(run.callId, deep)).toBe(transport === 'sse' ? '400 invalid_request' : 'invalid_frame');
    expect(await chat.answer('call_unknown', { output: 1 })).toBe(status('unknown_call', 404));
    if (transport === 'sse') expect(await chat.answer(run.callId, { output: 1 }, { token: null })).toBe('403 forbidden');

    expect(await chat.answer(run.callId, { output: { time: 'noon' } })).toBeUndefined();
    const result = (await chat.waitForFrame((f) => f.type === 'tool_result')) as ServerFrameOf<'tool_result'>;
    expect(result).toMatchObject({ callId: run.callId, ok: true, result: { time: 'noon' } });
    expect(await chat.answer(run.callId, { output: { time: 'again' } })).toBe(status('already_decided', 409));
    await chat.waitForFrame((f) => f.type === 'done');
    expect(toldModel(provider)).toEqual({ ok: true, result: { time: 'noon' } });
  });

  it("refuses an output that fails the tool's outputSchema as invalid_request, and the call still takes a good one", async () => {
    const provider = callsThenEchoes('typed', {});
    const { url } = await serve(provider);
    const chat = await openRaw(transport, url, 'typed');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(await chat.answer(run.callId, { output: { time: 12 } })).toBe(transport === 'sse' ? '400 invalid_request' : 'invalid_request');
    expect(await chat.answer(run.callId, { output: { time: 'noon' } })).toBeUndefined();
    await chat.waitForFrame((f) => f.type === 'done');
    expect(toldModel(provider)).toEqual({ ok: true, result: { time: 'noon' } });
  });

  it("audits the digest of the output as the client sent it, before the outputSchema stripped a key", async () => {
    const provider = callsThenEchoes('loose', {});
    const { url, core } = await serve(provider);
    const chat = await openRaw(transport, url, 'loose');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    const sent = { time: 'noon', secret: 'kept out of the model' };
    expect(await chat.answer(run.callId, { output: sent })).toBeUndefined();
    await chat.waitForFrame((f) => f.type === 'done');
    expect(toldModel(provider)).toEqual({ ok: true, result: { time: 'noon' } });
    const [record] = await core.audit.forStream(chat.start.streamId);
    expect(record?.clientOutput?.sha256).toBe(canonicalSha256(sent));
  });

  it('refuses as invalid_request an output its outputSchema turns into something that is not JSON, and the stream goes on', async () => {
    const provider = callsThenEchoes('big', {});
    const { url } = await serve(provider);
    const chat = await openRaw(transport, url, 'big');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(await chat.answer(run.callId, { output: { n: 1 } })).toBe(transport === 'sse' ? '400 invalid_request' : 'invalid_request');
    expect(await chat.answer(run.callId, { error: { code: 'gave_up', message: 'no' } })).toBeUndefined();
    await chat.waitForFrame((f) => f.type === 'done');
    expect(toldModel(provider)).toEqual({ ok: false, error: { code: 'gave_up', message: 'no' } });
  });

  it('tells the model tool_timeout when no client answers in time, audits it, and refuses a late output as tool_timeout', async () => {
    const provider = callsThenEchoes('hurried', {});
    const { url, core } = await serve(provider);
    const chat = await openRaw(transport, url, 'hurried');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(run.expiresAt).toBeGreaterThan(Date.now() - 1_000);
    const result = (await chat.waitForFrame((f) => f.type === 'tool_result')) as ServerFrameOf<'tool_result'>;
    expect(result).toMatchObject({ ok: false, error: { code: 'tool_timeout' } });
    expect(toldModel(provider)).toMatchObject({ ok: false, error: { code: 'tool_timeout' } });
    expect(await chat.answer(run.callId, { output: 'late' })).toBe(transport === 'sse' ? '410 tool_timeout' : 'tool_timeout');
    const records = await core.audit.forStream(chat.start.streamId);
    expect(records).toEqual([expect.objectContaining({ callId: run.callId, decision: 'not_required', outcome: 'tool_timeout' })]);
    expect(records[0]).not.toHaveProperty('clientOutput');
  });

  it('audits a client tool call cancelled while it waits for its output as cancelled', async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url, core } = await serve(provider);
    const chat = await openRaw(transport, url, 'get_local_time');
    raw = chat;
    const run = (await chat.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    const cancelled = await fetch(`${url}/api/streams/${chat.start.streamId}`, { method: 'DELETE', headers: { 'x-stream-token': chat.start.streamToken as string } });
    expect(cancelled.ok).toBe(true);
    await chat.waitForFrame((f) => f.type === 'done');
    const records = await core.audit.forStream(chat.start.streamId);
    expect(records).toEqual([expect.objectContaining({ callId: run.callId, decision: 'not_required', outcome: 'cancelled' })]);
  });

  it("does not run a client tool again for a client that resumes from before the call, when the replay brings the call's tool_result", async () => {
    // The model's second turn waits for the test, so the stream is still live when the second client views it.
    const goOn = gate();
    const call = async function* (): AsyncIterable<ModelEvent> {
      yield { type: 'tool_call_delta', index: 0, id: 'call_1', name: 'get_local_time', argumentsDelta: '{}' };
      yield { type: 'finish', reason: 'tool_calls' };
    };
    const slowEcho = async function* (request: ModelRequest): AsyncIterable<ModelEvent> {
      yield { type: 'text', text: request.messages.at(-1)?.content ?? '' };
      await goOn.promise;
      yield { type: 'finish', reason: 'stop' };
    };
    const { url } = await serve(scriptedProvider([call, slowEcho]));
    const ran: string[] = [];
    const answering = createChatClient({ baseUrl: url, transport, WebSocket: NodeWebSocket, clientTools: { get_local_time: () => (ran.push('A'), { time: 'A' }) } });
    raw = answering;
    const first = answering.chat(ask('get_local_time'));
    await waitFor(() => first.toolResults.length === 1 && first.text.length > 0, "A's answer and the model's next turn");

    client = createChatClient({ baseUrl: url, transport, WebSocket: NodeWebSocket, clientTools: { get_local_time: () => (ran.push('B'), { time: 'B' }) } });
    const again = client.resume({ ...(first.ref as StreamRef), lastSeq: -1 });
    // A `change` after the replayed tool_result is the replay's release: whatever it held has run by then.
    await new Promise<void>((resolve) => again.on('change', () => again.toolResults.length === 1 && again.text.length > 0 && resolve()));
    expect(again.recentFrames().map((f) => f.type)).toContain('tool_run');
    expect(ran).toEqual(['A']);
    goOn.open();
    expect((await again.result).reason).toBe('stop');
    expect(again.toolResults).toEqual([{ callId: first.toolCalls[0]?.callId, ok: true, result: { time: 'A' } }]);
    expect(ran).toEqual(['A']);
  });

  it('is answered by a client that resumes the stream after the first one left without answering', async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url } = await serve(provider);
    const first = await openRaw(transport, url, 'get_local_time');
    const run = (await first.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    first.close();

    let runs = 0;
    client = createChatClient({ baseUrl: url, transport, WebSocket: NodeWebSocket, clientTools: { get_local_time: () => (runs++, { time: 'after resume' }) } });
    const stream = client.resume({ streamId: first.start.streamId, token: first.start.streamToken, lastSeq: -1, transport });
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    // The replay brought the call's tool_run and no tool_result: this client runs it, once.
    expect(runs).toBe(1);
    expect(stream.toolResults).toEqual([{ callId: run.callId, ok: true, result: { time: 'after resume' } }]);
    expect(toldModel(provider)).toEqual({ ok: true, result: { time: 'after resume' } });
  });
});

describe('a client tool answer lost with its WebSocket', () => {
  it('is sent again when the stream is re-attached, and reaches the model', async () => {
    const provider = callsThenEchoes('patient', {});
    const { url } = await serve(provider);
    const through = await startTcpValve({ host: '127.0.0.1', port: Number(new URL(url).port) });
    valve = through;
    const output = { time: 'sent on a dead path' };
    let runs = 0;
    client = createChatClient({
      baseUrl: `http://127.0.0.1:${through.port}`,
      transport: 'ws',
      WebSocket: NodeWebSocket,
      // Silence for 400 ms gives the socket up: the dead path is noticed well before the tool's 5 s.
      heartbeatTimeoutMs: 400,
      clientTools: {
        patient: () => {
          runs++;
          // The path dies as the answer goes: the socket is still open, its bytes never arrive.
          through.freezeOpen();
          return output;
        },
      },
    });
    const stream = client.chat(ask('patient'));
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(through.accepted).toBeGreaterThan(1);
    expect(runs).toBe(1);
    expect(stream.toolResults).toEqual([{ callId: stream.toolCalls[0]?.callId, ok: true, result: output }]);
    expect(toldModel(provider)).toEqual({ ok: true, result: output });
    expect(stream.error).toBeUndefined();
  });

  it('sends it again after a drop that came before its tool_result, and the refusal of the repeat is quiet', async () => {
    const provider = callsThenEchoes('patient', {});
    const { url } = await serve(provider);
    const through = await startTcpValve({ host: '127.0.0.1', port: Number(new URL(url).port) });
    valve = through;
    const output = { time: 'taken before the drop' };
    // The statuses of the tool-output POSTs (the resend goes over HTTP), each once its body is in memory.
    const posts: number[] = [];
    client = createChatClient({
      baseUrl: `http://127.0.0.1:${through.port}`,
      transport: 'ws',
      WebSocket: NodeWebSocket,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (!String(input).includes('/api/tool-outputs/')) return response;
        const copy = new Response(await response.text(), { status: response.status, headers: response.headers });
        posts.push(response.status);
        return copy;
      },
      clientTools: {
        patient: () => {
          // The answer reaches the server; nothing the server sends back reaches this client.
          through.freezeOpenFromTarget();
          return output;
        },
      },
    });
    const stream = client.chat(ask('patient'));
    const errors: string[] = [];
    stream.on('error', (error) => errors.push(error.code));
    // The server took the answer (the model's next turn asks): the connection drops before its tool_result arrives.
    await waitFor(() => provider.requests.length === 2, 'the answer taken');
    through.cut();
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    await waitFor(() => posts.length === 1, 'the resend answered');
    // The client reads the in-memory body in microtasks: a macrotask later its refusal is handled.
    await new Promise((resolve) => setImmediate(resolve));
    expect(posts).toEqual([409]);
    expect(errors).toEqual([]);
    expect(stream.toolResults).toEqual([{ callId: stream.toolCalls[0]?.callId, ok: true, result: output }]);
    expect(toldModel(provider)).toEqual({ ok: true, result: output });
  });
});

describe('GET resume of a stream waiting on a client tool', () => {
  it('replays the pending tool_call and tool_run with no tool_result after them', async () => {
    const provider = callsThenEchoes('get_local_time', {});
    const { url } = await serve(provider);
    const chat = await openRaw('sse', url, 'get_local_time');
    raw = chat;
    await chat.waitForFrame((f) => f.type === 'tool_run');
    const again = await getSse(`${url}/api/streams/${chat.start.streamId}`, { 'x-stream-token': chat.start.streamToken as string });
    const run = (await again.waitForFrame((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(again.frames.map((f) => f.type)).toEqual(['start', 'tool_call', 'tool_run']);
    expect(again.frames[1]).toMatchObject({ name: 'get_local_time', runsOn: 'client' });
    expect(await chat.answer(run.callId, { output: 'ok' })).toBeUndefined();
    expect((await again.ended).map((f) => f.type).slice(-2)).toEqual(['token', 'done']);
  });
});
