import { EventType, HttpAgent, type BaseEvent, type Event as AgUiEvent, type Message } from '@ag-ui/client';
import { afterEach, describe, expect, it } from 'vitest';
import { loggedFrames } from '../helpers/hub.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import type { ToolRun } from '../helpers/recording-tools.js';
import { interopEdges, startRecording } from '../helpers/interop-servers.js';
import type { EdgeServer as TestServer } from '../helpers/interop-servers.js';

// @ag-ui/client's HttpAgent (its SSE parser, its event verifier, its interrupt handling)
// against POST /api/ag-ui on a real loopback server: each scenario on the Express app and
// through createInterop's `handle` (web Requests under a mount prefix).

let server: TestServer | undefined;
let runs: ToolRun[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server!.core.hub.get(streamId));
const tokensOf = async (streamId: string) => (await frames(streamId)).flatMap((f) => (f.type === 'token' ? [f.text] : [])).join('');
const user = (content: string): Message => ({ id: `u-${content.length}`, role: 'user', content });
const textOf = (events: AgUiEvent[]) => events.flatMap((e) => (e.type === EventType.TEXT_MESSAGE_CONTENT ? [(e as { delta: string }).delta] : [])).join('');

/** An HttpAgent on /api/ag-ui that records every event and the tokenwire stream of each run. */
function agent(threadId: string, prompt: string, headers: Record<string, string> = {}) {
  const streams: string[] = [];
  const events: AgUiEvent[] = [];
  const http = new HttpAgent({
    url: `${server!.url}/api/ag-ui`,
    threadId,
    headers,
    initialMessages: [user(prompt)],
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      streams.push(response.headers.get('x-tokenwire-stream-id') ?? '');
      return response;
    },
  });
  const subscriber = { onEvent: ({ event }: { event: BaseEvent }) => void events.push(event as AgUiEvent) };
  return { http, streams, events, subscriber };
}

describe.each(interopEdges)('AG-UI: HttpAgent against POST /api/ag-ui, over %s', (_edge, startEdge) => {
  it('runs a chat: RUN_STARTED, one text message, RUN_FINISHED with usage', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const a = agent('thread-chat', 'Tell me a story');
    const result = await a.http.runAgent({ runId: 'run-1', forwardedProps: { options: { simulate: { tokens: 30 } } } }, a.subscriber);
    const streamId = a.streams[0]!;
    const types = a.events.map((e) => e.type);
    expect(types[0]).toBe(EventType.RUN_STARTED);
    expect(types[1]).toBe(EventType.TEXT_MESSAGE_START);
    expect(types.filter((t) => t === EventType.TEXT_MESSAGE_CONTENT)).toHaveLength(30);
    expect(types.slice(-2)).toEqual([EventType.TEXT_MESSAGE_END, EventType.RUN_FINISHED]);
    const done = (await frames(streamId)).at(-1) as Extract<ServerFrame, { type: 'done' }>;
    expect(a.events.at(-1)).toEqual({
      type: EventType.RUN_FINISHED,
      threadId: 'thread-chat',
      runId: 'run-1',
      outcome: { type: 'success' },
      usage: [{ model: 'tokenwire-sim-1', inputTokens: done.usage!.promptTokens, outputTokens: 30, totalTokens: done.usage!.totalTokens }],
    });
    expect(result.newMessages).toEqual([expect.objectContaining({ role: 'assistant', content: await tokensOf(streamId) })]);
  });

  it('a tool that needs approval ends the run with an interrupt; a resume run approves it through the gate', async () => {
    ({ server, runs } = await startRecording(startEdge, { APPROVAL_TIMEOUT_MS: '60000' }));
    const a = agent('thread-tool', "What's the weather in Paris?");
    await a.http.runAgent({ runId: 'run-ask', forwardedProps: { tools: ['get_weather'] } }, a.subscriber);
    const streamId = a.streams[0]!;
    const call = (await frames(streamId)).find((f) => f.type === 'tool_call') as Extract<ServerFrame, { type: 'tool_call' }>;
    expect(a.events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TOOL_CALL_START, EventType.TOOL_CALL_ARGS, EventType.TOOL_CALL_END, EventType.RUN_FINISHED]);
    expect(a.events[2]).toMatchObject({ toolCallId: call.callId, delta: '{"city":"Paris"}' });
    expect(a.http.pendingInterrupts).toEqual([
      {
        id: call.callId,
        reason: 'tool_approval',
        message: 'Approve get_weather?',
        toolCallId: call.callId,
        expiresAt: new Date(call.expiresAt!).toISOString(),
        metadata: { tool: 'get_weather', args: { city: 'Paris' } },
      },
    ]);
    expect(runs).toEqual([]);

    a.events.length = 0;
    await a.http.runAgent({ runId: 'run-approve', resume: [{ interruptId: call.callId, status: 'resolved', payload: { approved: true } }] }, a.subscriber);
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    expect(a.streams[1]).toBe(streamId);
    expect(a.events[0]).toMatchObject({ type: EventType.RUN_STARTED, runId: 'run-approve' });
    expect(a.events[1]).toMatchObject({ type: EventType.TOOL_CALL_RESULT, toolCallId: call.callId });
    expect(JSON.parse((a.events[1] as { content: string }).content)).toMatchObject({ city: 'Paris' });
    expect(a.events.at(-1)).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
    expect(textOf(a.events)).toBe(await tokensOf(streamId));
    expect(a.http.pendingInterrupts).toEqual([]);
    expect(a.http.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('a cancelled interrupt denies the call: the tool never runs', async () => {
    ({ server, runs } = await startRecording(startEdge));
    const a = agent('thread-deny', "What's the weather in Paris?");
    await a.http.runAgent({ runId: 'run-ask', forwardedProps: { tools: ['get_weather'] } }, a.subscriber);
    const [interrupt] = a.http.pendingInterrupts;
    a.events.length = 0;
    await a.http.runAgent({ runId: 'run-deny', resume: [{ interruptId: interrupt!.id, status: 'cancelled' }] }, a.subscriber);
    expect(runs).toEqual([]);
    const result = a.events.find((e) => e.type === EventType.TOOL_CALL_RESULT) as { content: string };
    expect(JSON.parse(result.content)).toEqual({ error: { code: 'denied', message: 'The user denied this call.' } });
  });

  it('an interrupt past its expiry is refused by the gate (410), and another thread may not answer it (403)', async () => {
    ({ server, runs } = await startRecording(startEdge, { APPROVAL_TIMEOUT_MS: '300' }));
    const a = agent('thread-expire', "What's the weather in Paris?");
    await a.http.runAgent({ runId: 'run-ask', forwardedProps: { tools: ['get_weather'] } }, a.subscriber);
    const [interrupt] = a.http.pendingInterrupts;
    const resume = (threadId: string) =>
      fetch(`${server!.url}/api/ag-ui`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ threadId, runId: `r-${threadId}`, messages: [], resume: [{ interruptId: interrupt!.id, status: 'resolved', payload: { approved: true } }] }),
      });
    const stranger = await resume('another-thread');
    expect(stranger.status).toBe(403);
    const streamId = a.streams[0]!;
    await waitFor(async () => (await frames(streamId)).some((f) => f.type === 'tool_result'), 'the approval to expire');
    const late = await resume('thread-expire');
    expect(late.status).toBe(410);
    expect((await late.json()).error.code).toBe('approval_expired');
    expect(runs).toEqual([]);
  });

  it('a model failure mid-run is RUN_ERROR with tokenwire’s code', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const a = agent('thread-error', 'Hello');
    // HttpAgent reports RUN_ERROR to subscribers and settles the run; it does not throw.
    await a.http.runAgent({ runId: 'run-err', forwardedProps: { options: { simulate: { tokens: 50, failAfterTokens: 4 } } } }, a.subscriber);
    expect(a.events.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT)).toHaveLength(4);
    expect(a.events.at(-1)).toMatchObject({ type: EventType.RUN_ERROR, code: 'upstream_error', message: 'The simulated model failed on request.' });
  });

  it('resumes a run by Last-Event-ID: the same run again, with only the events after that seq', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '200' });
    const input = {
      threadId: 'thread-resume',
      runId: 'run-resume',
      messages: [user('Tell me a story')],
      forwardedProps: { options: { resumeGraceMs: 30_000, simulate: { tokens: 300 } } },
    };
    const controller = new AbortController();
    const first = await fetch(`${server.url}/api/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(input),
      signal: controller.signal,
    });
    const streamId = first.headers.get('x-tokenwire-stream-id')!;
    // Read until ten content events carried their seq as the SSE id, then drop the connection.
    const reader = first.body!.pipeThrough(new TextDecoderStream()).getReader();
    let raw = '';
    while ((raw.match(/^id: /gm) ?? []).length < 10) raw += (await reader.read()).value ?? '';
    const seen = raw.slice(0, raw.lastIndexOf('\n\n') + 2);
    controller.abort();
    const lastId = Number([...seen.matchAll(/^id: (\d+)$/gm)].at(-1)![1]);
    const before = seen.split('\n\n').flatMap((block) => {
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      return data ? [JSON.parse(data.slice(6)) as AgUiEvent] : [];
    });

    const a = agent('thread-resume', 'Tell me a story', { 'Last-Event-ID': String(lastId) });
    await a.http.runAgent({ runId: 'run-resume' }, a.subscriber);
    expect(a.streams[0]).toBe(streamId);
    // The resumed run re-opens the message it was in, then goes on after that seq.
    expect(a.events[0]).toMatchObject({ type: EventType.RUN_STARTED, runId: 'run-resume' });
    expect(a.events[1]).toMatchObject({ type: EventType.TEXT_MESSAGE_START, messageId: `${streamId}-1` });
    expect(textOf(before) + textOf(a.events)).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).filter((f) => f.type === 'token')).toHaveLength(300);
    expect(a.events.at(-1)).toMatchObject({ type: EventType.RUN_FINISHED, outcome: { type: 'success' } });
  });

  it('refuses a Last-Event-ID for a run it does not know, and a body that is not a RunAgentInput', async () => {
    server = await startEdge();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server!.url}/api/ag-ui`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const unknown = await post({ threadId: 't', runId: 'r', messages: [user('hi')] }, { 'last-event-id': '5' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('unknown_stream');
    const bad = await post({ threadId: 't', messages: 'nope' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
  });
});
