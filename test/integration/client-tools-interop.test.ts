import { EventType, HttpAgent, type BaseEvent, type Event as AgUiEvent } from '@ag-ui/client';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS, type ServerFrame } from '../../shared/protocol.js';
import { loggedFrames } from '../helpers/hub.js';
import { interopEdges, type EdgeServer } from '../helpers/interop-servers.js';

// A client tool (the demo's get_local_time, made with defineClientTool) answered through the
// interop wires: the AI SDK's UI message stream (addToolOutput's part in the next request) and
// AG-UI (a frontend tool whose `tool` message comes in the next run's input). Each on the
// Express app and through createInterop's `handle`.

let server: EdgeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server!.core.hub.get(streamId));
const output = { timeZone: 'Pacific/Chatham', time: '09:30' };
const answer = `Your local time is ${output.time} (${output.timeZone}).`;

/** The UI message chunks of one AI SDK response, from its SSE `data:` lines. */
async function uiChunks(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

describe.each(interopEdges)('client tools through the interop wires, over %s', (_edge, startEdge) => {
  it('AI SDK: the message ends at the client call; the tool part addToolOutput filled in continues it, once', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const post = (messages: unknown[]) =>
      fetch(`${server!.url}/api/ai-sdk/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'chat-time', messages, tools: ['get_local_time'] }),
      });
    const user = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'What time is it where I am?' }] };
    const first = await post([user]);
    const streamId = first.headers.get('x-tokenwire-stream-id') as string;
    const chunks = await uiChunks(first);
    const input = chunks.find((c) => c.type === 'tool-input-available') as { toolCallId: string; toolName: string };
    expect(input).toMatchObject({ toolName: 'get_local_time', input: {} });
    // The response ended for onToolCall to answer; tokenwire's stream waits for the output.
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    expect((await frames(streamId)).map((f) => f.type)).toEqual(['start', 'tool_call', 'tool_run']);

    const assistant = (out: unknown) => ({
      id: streamId,
      role: 'assistant',
      parts: [{ type: 'step-start' }, { type: 'tool-get_local_time', toolCallId: input.toolCallId, state: 'output-available', input: {}, output: out }],
    });
    const tooLarge = await post([user, assistant('x'.repeat(LIMITS.toolOutputBytes + 1))]);
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error.code).toBe('payload_too_large');

    const second = await post([user, assistant(output)]);
    expect(second.status).toBe(200);
    const rest = await uiChunks(second);
    expect(rest[0]).toEqual({ type: 'start', messageId: streamId });
    expect(rest).toContainEqual({ type: 'tool-output-available', toolCallId: input.toolCallId, output });
    expect(rest.flatMap((c) => (c.type === 'text-delta' ? [c.delta] : [])).join('')).toBe(answer);
    expect(rest.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });

    const replay = await post([user, assistant({ time: 'again' })]);
    expect(replay.status).toBe(409);
    expect((await replay.json()).error.code).toBe('already_decided');
  });

  it('AG-UI: a frontend tool ends the run; its tool message in the next run is the output, and a repeat is refused', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const streams: string[] = [];
    const events: AgUiEvent[] = [];
    const tools = [{ name: 'get_local_time', description: "The user's local time.", parameters: { type: 'object', properties: {} } }];
    const agent = new HttpAgent({
      url: `${server.url}/api/ag-ui`,
      threadId: 'thread-time',
      initialMessages: [{ id: 'u1', role: 'user', content: 'What time is it where I am?' }],
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        streams.push(response.headers.get('x-tokenwire-stream-id') ?? '');
        return response;
      },
    });
    const subscriber = { onEvent: ({ event }: { event: BaseEvent }) => void events.push(event as AgUiEvent) };

    await agent.runAgent({ runId: 'run-ask', tools }, subscriber);
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TOOL_CALL_START, EventType.TOOL_CALL_ARGS, EventType.TOOL_CALL_END, EventType.RUN_FINISHED]);
    expect(events[1]).toMatchObject({ toolCallName: 'get_local_time' });
    expect(events.at(-1)).toMatchObject({ outcome: { type: 'success' } });
    const toolCallId = (events[1] as { toolCallId: string }).toolCallId;
    expect(agent.pendingInterrupts).toEqual([]);

    // The frontend ran its tool and appends the result, as CopilotKit's frontend actions do.
    agent.addMessage({ id: 't1', role: 'tool', toolCallId, content: JSON.stringify(output) });
    events.length = 0;
    await agent.runAgent({ runId: 'run-answer', tools }, subscriber);
    expect(streams[1]).toBe(streams[0]);
    expect(events[0]).toMatchObject({ type: EventType.RUN_STARTED, runId: 'run-answer' });
    // No TOOL_CALL_RESULT: the frontend holds the result already, as its own tool message.
    expect(events.some((e) => e.type === EventType.TOOL_CALL_RESULT)).toBe(false);
    expect(events.flatMap((e) => (e.type === EventType.TEXT_MESSAGE_CONTENT ? [(e as { delta: string }).delta] : [])).join('')).toBe(answer);
    expect(events.at(-1)).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
    expect((await frames(streams[0]!)).find((f) => f.type === 'tool_result')).toMatchObject({ callId: toolCallId, ok: true, result: output });

    const repeat = await fetch(`${server.url}/api/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        threadId: 'thread-time',
        runId: 'run-repeat',
        state: {},
        tools,
        context: [],
        forwardedProps: {},
        messages: [{ id: 't2', role: 'tool', toolCallId, content: '{"time":"again"}' }],
      }),
    });
    expect(repeat.status).toBe(409);
    expect((await repeat.json()).error.code).toBe('already_decided');
  });
});
