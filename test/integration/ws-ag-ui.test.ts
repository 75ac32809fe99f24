import type { Socket } from 'node:net';
import { EventType, type Event as AgUiEvent, type Message } from '@ag-ui/client';
import { EventSchema } from '@ag-ui/core/schemas';
import { afterEach, describe, expect, it } from 'vitest';
import { continuationRunId } from '../../server/views/mappers/ag-ui-runs.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { AgUiEventMessage } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';
import { startRecordingServer, type ToolRun } from '../helpers/recording-tools.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { WsAgUiAgent } from '../helpers/ws-ag-ui-agent.js';
import { connectWs, type WsTestClient } from '../helpers/ws-client.js';

// AG-UI events over tokenwire's WebSocket (`format: "ag-ui"` on start and resume, protocol
// minor 2), read by @ag-ui/client's AbstractAgent (its verifier and message state) on a real
// socket to a real server; every event is checked with @ag-ui/core's EventSchema.

let server: TestServer | undefined;
let runs: ToolRun[] = [];
const sockets: WsTestClient[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.close();
  server = undefined;
});

const connect = async () => {
  const socket = await connectWs(server!.url);
  sockets.push(socket);
  return socket;
};
const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server!.core.hub.get(streamId));
const tokensOf = async (streamId: string) => (await frames(streamId)).flatMap((f) => (f.type === 'token' ? [f.text] : [])).join('');
const user = (content: string): Message => ({ id: 'u-1', role: 'user', content });
const typesOf = (agent: WsAgUiAgent) => agent.received.map((r) => r.event.type);
const textOf = (events: AgUiEvent[]) => events.flatMap((e) => (e.type === EventType.TEXT_MESSAGE_CONTENT ? [e.delta] : [])).join('');

describe('AG-UI over the WebSocket', () => {
  it('streams a chat as AG-UI events after the start frame; the agent’s verifier accepts them and its message has every token', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '2000' });
    const socket = await connect();
    const agent = new WsAgUiAgent(socket, { options: { simulate: { tokens: 30 } } }, { threadId: 'thread-ws', initialMessages: [user('Tell me a story')] });
    const result = await agent.runAgent({ runId: 'run-ws' });
    const streamId = agent.streamId!;

    // The stream's own start frame names it (with its token, for this socket), then only AG-UI events.
    const start = socket.frames.find((f) => f.type === 'start') as ServerFrameOf<'start'>;
    expect(start).toMatchObject({ streamId, id: 'run-1', transport: 'ws' });
    expect(start.streamToken).toBeDefined();
    const others = socket.messages.map((m) => JSON.parse(m) as { type?: string }).filter((m) => m.type !== 'start');
    expect(others.every((m) => AgUiEventMessage.safeParse(m).success && EventSchema.safeParse((m as { event: unknown }).event).success)).toBe(true);

    expect(typesOf(agent)[0]).toBe(EventType.RUN_STARTED);
    expect(agent.received[0]!.event).toEqual({ type: EventType.RUN_STARTED, threadId: 'thread-ws', runId: 'run-ws' });
    expect(typesOf(agent).filter((t) => t === EventType.TEXT_MESSAGE_CONTENT)).toHaveLength(30);
    expect(typesOf(agent).slice(-2)).toEqual([EventType.TEXT_MESSAGE_END, EventType.RUN_FINISHED]);
    expect(agent.received.at(-1)!.event).toMatchObject({ outcome: { type: 'success' }, usage: [expect.objectContaining({ outputTokens: 30 })] });
    // Each frame's last event carries its seq: the seqs rise to the done frame's.
    const done = (await frames(streamId)).at(-1)!;
    expect(agent.received.at(-1)!.seq).toBe(done.seq);
    expect(agent.received.map((r) => r.seq)).toEqual([...agent.received.map((r) => r.seq)].sort((a, b) => a - b));
    expect(result.newMessages).toEqual([expect.objectContaining({ role: 'assistant', content: await tokensOf(streamId) })]);
  });

  it('a tool call that needs approval ends the run with an interrupt; tokenwire’s approve frame continues the stream in the next run', async () => {
    ({ server, runs } = await startRecordingServer({ APPROVAL_TIMEOUT_MS: '60000' }));
    const socket = await connect();
    const agent = new WsAgUiAgent(socket, { tools: ['get_weather'] }, { threadId: 'thread-tool', initialMessages: [user("What's the weather in Paris?")] });
    await agent.runAgent({ runId: 'run-ask' });
    const streamId = agent.streamId!;
    const call = (await frames(streamId)).find((f) => f.type === 'tool_call') as ServerFrameOf<'tool_call'>;
    expect(typesOf(agent)).toEqual([EventType.RUN_STARTED, EventType.TOOL_CALL_START, EventType.TOOL_CALL_ARGS, EventType.TOOL_CALL_END, EventType.RUN_FINISHED]);
    expect(agent.pendingInterrupts).toEqual([
      expect.objectContaining({ id: call.callId, reason: 'tool_approval', toolCallId: call.callId, expiresAt: new Date(call.expiresAt!).toISOString() }),
    ]);
    // The socket still views the stream: the generation waits on the gate, nothing ran.
    expect(server.core.hub.get(streamId)?.signal.aborted).toBe(false);
    expect(runs).toEqual([]);

    const before = agent.received.length;
    const result = await agent.runAgent({ runId: 'run-answer', resume: [{ interruptId: call.callId, status: 'resolved', payload: { approved: true } }] });
    const after = agent.received.slice(before).map((r) => r.event);
    expect(after[0]).toEqual({ type: EventType.RUN_STARTED, threadId: 'thread-tool', runId: continuationRunId('run-ask', call.callId) });
    expect(after[1]).toMatchObject({ type: EventType.TOOL_CALL_RESULT, toolCallId: call.callId, content: expect.stringContaining('Paris') });
    expect(after.at(-1)).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    expect(agent.pendingInterrupts).toEqual([]);
    expect(textOf(after)).toBe(await tokensOf(streamId));
    expect(result.newMessages.map((m) => m.role)).toEqual(['tool', 'assistant']);
    // A replayed approve frame is refused by the gate, as for tokenwire's own frames.
    socket.send({ type: 'approve', callId: call.callId });
    const refused = await socket.waitForFrame((f) => f.type === 'error');
    expect(refused).toMatchObject({ code: 'already_decided' });
  });

  it('resumes mid-stream by seq on a new socket: the message is re-opened and the text is whole, nothing repeated', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '300' });
    const first = await connect();
    const chat = { options: { resumeGraceMs: 30_000, simulate: { tokens: 200 } } };
    const agent = new WsAgUiAgent(first, chat, { threadId: 'thread-resume', initialMessages: [user('Tell me a story')] });
    const running = agent.runAgent({ runId: 'run-resume' }).catch(() => undefined);
    await waitFor(() => agent.received.filter((r) => r.event.type === EventType.TEXT_MESSAGE_CONTENT).length >= 10, 'ten text events');
    first.ws.terminate();
    const seen = [...agent.received];
    const lastSeq = seen.at(-1)!.seq;
    const streamId = agent.streamId!;
    void running;

    const second = await connect();
    const resumed = new WsAgUiAgent(second, {}, { threadId: 'thread-resume', resumeFrom: { streamId, lastSeq, token: agent.streamToken! } });
    await resumed.runAgent({ runId: 'run-resume' });
    const events = resumed.received.map((r) => r.event);
    expect(events[0]).toEqual({ type: EventType.RUN_STARTED, threadId: 'thread-resume', runId: 'run-resume' });
    expect(events[1]).toEqual({ type: EventType.TEXT_MESSAGE_START, messageId: `${streamId}-1`, role: 'assistant' });
    expect(resumed.received[2]!.seq).toBe(lastSeq + 1);
    expect(textOf(seen.map((r) => r.event)) + textOf(events)).toBe(await tokensOf(streamId));
    const contents = (list: AgUiEvent[]) => list.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT).length;
    expect(contents(seen.map((r) => r.event)) + contents(events)).toBe(200);
    expect(events.at(-1)).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
    // Without the token another socket may not resume it.
    const stranger = await connect();
    stranger.send({ type: 'resume', streamId, lastSeq, format: 'ag-ui' });
    expect(await stranger.waitForFrame((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' });
  });

  it('a resume at a pending approval says the interrupt again; a resume after done says the run’s end again', async () => {
    ({ server, runs } = await startRecordingServer({ APPROVAL_TIMEOUT_MS: '60000' }));
    const socket = await connect();
    const agent = new WsAgUiAgent(socket, { tools: ['get_weather'], options: { resumeGraceMs: 30_000 } }, { threadId: 't', initialMessages: [user("What's the weather in Paris?")] });
    await agent.runAgent({ runId: 'r' });
    const streamId = agent.streamId!;
    const interruptSeq = agent.received.at(-1)!.seq;

    const again = new WsAgUiAgent(await connect(), {}, { threadId: 't', resumeFrom: { streamId, lastSeq: interruptSeq, token: agent.streamToken! } });
    await again.runAgent({ runId: 'r' });
    expect(again.received.map((r) => r.event.type)).toEqual([EventType.RUN_STARTED, EventType.RUN_FINISHED]);
    expect(again.pendingInterrupts.map((i) => i.id)).toEqual(agent.pendingInterrupts.map((i) => i.id));

    const call = agent.pendingInterrupts[0]!.id;
    await agent.runAgent({ runId: 'r2', resume: [{ interruptId: call, status: 'cancelled' }] });
    expect(agent.received.at(-1)!.event).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
    expect(agent.received.find((r) => r.event.type === EventType.TOOL_CALL_RESULT)!.event).toMatchObject({ content: expect.stringContaining('denied') });
    expect(runs).toEqual([]);

    const doneSeq = agent.received.at(-1)!.seq;
    const late = new WsAgUiAgent(await connect(), {}, { threadId: 't', resumeFrom: { streamId, lastSeq: doneSeq, token: agent.streamToken! } });
    await late.runAgent({ runId: 'r' });
    expect(late.received.map((r) => r.event.type)).toEqual([EventType.RUN_STARTED, EventType.RUN_FINISHED]);
    expect(late.received[0]!.event).toMatchObject({ runId: continuationRunId('r', call) });
    expect(late.received.at(-1)!.seq).toBe(doneSeq);
  });

  it('drops a reader that stopped with RUN_ERROR slow_consumer at the last whole frame; a resume from its seq loses nothing', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '25000', MAX_BUFFERED_BYTES: '65536', STREAM_MAX_FRAMES: '1000000', STREAM_MAX_BYTES: String(1 << 30), STREAMS_MAX_RETAINED_BYTES: String(1 << 30) });
    const socket = await connect();
    const tcp = (socket.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    socket.send({ type: 'start', id: 'slow', messages: [{ role: 'user', content: 'Tell me a long story' }], options: { simulate: { tokens: 1_000_000 }, resumeGraceMs: 60_000 }, format: 'ag-ui' });
    await waitFor(() => server!.core.metrics.registry.getSingleMetric('tokenwire_slow_consumers_total')?.get().then((m) => m.values.find((v) => v.labels.transport === 'ws')?.value === 1), 'the slow reader to be dropped', 15_000);
    tcp.resume();
    const events = () => socket.messages.flatMap((m) => (JSON.parse(m).event ? [JSON.parse(m) as { streamId: string; seq: number; event: AgUiEvent }] : []));
    const error = await waitFor(() => events().find((m) => m.event.type === EventType.RUN_ERROR), 'RUN_ERROR', 15_000);
    expect(error.event).toMatchObject({ code: 'slow_consumer' });
    expect(events().at(-1)).toEqual(error);
    const streamId = error.streamId;
    const logged = (await frames(streamId)).filter((f) => f.seq <= error.seq);
    expect(textOf(events().map((m) => m.event))).toBe(logged.flatMap((f) => (f.type === 'token' ? [f.text] : [])).join(''));

    socket.send({ type: 'resume', streamId, lastSeq: error.seq, format: 'ag-ui' });
    const next = await waitFor(() => events().find((m) => m.seq > error.seq), 'the resumed view', 15_000);
    expect(next.seq).toBe(error.seq + 1);
    socket.send({ type: 'cancel', streamId });
    await waitFor(() => events().find((m) => m.event.type === EventType.RUN_FINISHED), 'RUN_FINISHED', 15_000);
    expect(events().at(-1)!.event).toMatchObject({ outcome: { type: 'cancelled' } });
  }, 45_000);

  it('refuses threadId or runId without format "ag-ui" with invalid_frame, and the socket stays usable', async () => {
    server = await startServer();
    const socket = await connect();
    socket.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'hi' }], runId: 'r' });
    expect(await socket.waitForFrame((f) => f.type === 'error')).toMatchObject({ streamId: 'c1', code: 'invalid_frame' });
    socket.send({ type: 'start', id: 'c2', messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 2 } }, format: 'tokenwire' });
    expect(await socket.waitForFrame((f) => f.type === 'done')).toMatchObject({ reason: 'stop' });
  });
});
