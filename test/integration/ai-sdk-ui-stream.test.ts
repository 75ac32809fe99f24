import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { loggedFrames } from '../helpers/hub.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import type { ToolRun } from '../helpers/recording-tools.js';
import { interopEdges, startRecording } from '../helpers/interop-servers.js';
import type { EdgeServer as TestServer } from '../helpers/interop-servers.js';

// The AI SDK's own client parts (its transport, its chunk schema, its message reader) against
// POST /api/ai-sdk/chat and its resume route, on a real loopback server: each scenario on the
// Express app and through createInterop's `handle` (web Requests under a mount prefix).

let server: TestServer | undefined;
let runs: ToolRun[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const transport = (body: object = {}) => new DefaultChatTransport<UIMessage>({ api: `${server!.url}/api/ai-sdk/chat`, body });
const user = (text: string): UIMessage => ({ id: `u-${text.length}`, role: 'user', parts: [{ type: 'text', text }] });

/** Every chunk of a stream, and the message the AI SDK's reader builds from them. */
async function readAll(stream: ReadableStream<UIMessageChunk>, message?: UIMessage) {
  const chunks: UIMessageChunk[] = [];
  const tee = stream.pipeThrough(new TransformStream<UIMessageChunk, UIMessageChunk>({ transform: (c, ctl) => (chunks.push(c), ctl.enqueue(c)) }));
  let last: UIMessage | undefined;
  for await (const snapshot of readUIMessageStream({ stream: tee, ...(message ? { message } : {}) })) last = snapshot;
  return { chunks, message: last! };
}

const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server!.core.hub.get(streamId));
const textOf = (message: UIMessage) => message.parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
const tokensOf = async (streamId: string) => (await frames(streamId)).flatMap((f) => (f.type === 'token' ? [f.text] : [])).join('');
const toolPart = (message: UIMessage) => message.parts.find((p) => p.type.startsWith('tool-')) as Record<string, unknown> & { state: string };

describe.each(interopEdges)('AI SDK UI message stream: POST /api/ai-sdk/chat, over %s', (_edge, startEdge) => {
  it('streams a chat that the AI SDK reads into one assistant message, tokenwire seq as the SSE id', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const response = await fetch(`${server.url}/api/ai-sdk/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'chat-raw', messages: [user('Hello there')], options: { simulate: { tokens: 3 } } }),
    });
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    const streamId = response.headers.get('x-tokenwire-stream-id')!;
    const [t1, t2, t3] = (await frames(streamId)).filter((f) => f.type === 'token') as Extract<ServerFrame, { type: 'token' }>[];
    // The exact bytes: the id rides on the last chunk a frame produced; [DONE] ends it.
    expect(body).toBe(
      [
        `data: {"type":"start","messageId":"${streamId}"}\n\n`,
        `data: {"type":"start-step"}\n\n`,
        `data: {"type":"text-start","id":"text-1"}\n\n`,
        `id: 1\ndata: ${JSON.stringify({ type: 'text-delta', id: 'text-1', delta: t1!.text })}\n\n`,
        `id: 2\ndata: ${JSON.stringify({ type: 'text-delta', id: 'text-1', delta: t2!.text })}\n\n`,
        `id: 3\ndata: ${JSON.stringify({ type: 'text-delta', id: 'text-1', delta: t3!.text })}\n\n`,
        `data: {"type":"text-end","id":"text-1"}\n\n`,
        `data: {"type":"finish-step"}\n\n`,
        `id: 4\ndata: {"type":"finish","finishReason":"stop"}\n\n`,
        'data: [DONE]\n\n',
      ].join(''),
    );
  });

  it('DefaultChatTransport + readUIMessageStream build the answer tokenwire generated', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const stream = await transport({ options: { simulate: { tokens: 40 } } }).sendMessages({
      trigger: 'submit-message', chatId: 'chat-1', messageId: undefined, messages: [user('Tell me a story')], abortSignal: undefined,
    });
    const { chunks, message } = await readAll(stream);
    expect(message.role).toBe('assistant');
    expect(textOf(message)).toBe(await tokensOf(message.id));
    expect(textOf(message).length).toBeGreaterThan(40);
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('answers a bad body with invalid_request before any stream', async () => {
    server = await startEdge();
    const response = await fetch(`${server.url}/api/ai-sdk/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'x', messages: [] }) });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('invalid_request');
  });

  it('ends with an error chunk and finish "error" when the model fails mid-stream', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const stream = await transport({ options: { simulate: { tokens: 50, failAfterTokens: 5 } } }).sendMessages({
      trigger: 'submit-message', chatId: 'chat-err', messageId: undefined, messages: [user('Hello')], abortSignal: undefined,
    });
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.filter((c) => c.type === 'text-delta')).toHaveLength(5);
    expect(chunks.slice(-4)).toEqual([
      { type: 'text-end', id: 'text-1' },
      { type: 'error', errorText: 'The simulated model failed on request.' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'error' },
    ]);
  });
});

describe.each(interopEdges)('AI SDK tool approval through tokenwire’s approval gate, over %s', (_edge, startEdge) => {
  async function askWeather(chatId: string) {
    ({ server, runs } = await startRecording(startEdge));
    const first = await readAll(
      await transport({ tools: ['get_weather'] }).sendMessages({
        trigger: 'submit-message', chatId, messageId: undefined, messages: [user("What's the weather in Paris?")], abortSignal: undefined,
      }),
    );
    return first;
  }
  /** What `addToolApprovalResponse` does to the message before the AI SDK sends it back. */
  const answer = (message: UIMessage, approved: boolean): UIMessage => ({
    ...message,
    parts: message.parts.map((p) => {
      const part = p as Record<string, unknown> & { state?: string; approval?: object };
      return part.state === 'approval-requested' ? ({ ...part, state: 'approval-responded', approval: { ...part.approval, approved } } as never) : p;
    }),
  });
  const continueWith = (chatId: string, messages: UIMessage[]) =>
    transport().sendMessages({ trigger: 'submit-message', chatId, messageId: messages.at(-1)!.id, messages, abortSignal: undefined });

  it('ends the response at the approval request, then runs the tool when the approval comes back', async () => {
    const first = await askWeather('chat-approve');
    const part = toolPart(first.message);
    expect(part).toMatchObject({ type: 'tool-get_weather', state: 'approval-requested', input: { city: 'Paris' } });
    expect(first.chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    const streamId = first.message.id;
    // The generation waits on the gate, watched, although no response is open.
    expect(server!.core.hub.get(streamId)!.done).toBe(false);
    expect(runs).toEqual([]);

    const approved = answer(first.message, true);
    const second = await readAll(await continueWith('chat-approve', [user("What's the weather in Paris?"), approved]), approved);
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    expect(toolPart(second.message)).toMatchObject({ state: 'output-available', output: { city: 'Paris' } });
    expect(second.message.id).toBe(streamId);
    expect(textOf(second.message)).toBe(await tokensOf(streamId));
    expect(second.chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('a denial reaches the gate: the tool never runs and the part is output-denied', async () => {
    const first = await askWeather('chat-deny');
    const denied = answer(first.message, false);
    const second = await readAll(await continueWith('chat-deny', [user("What's the weather in Paris?"), denied]), denied);
    expect(runs).toEqual([]);
    expect(toolPart(second.message).state).toBe('output-denied');
  });

  it('refuses a replayed approval (409), one from another chat (403) and one for an unknown call (404)', async () => {
    const first = await askWeather('chat-replay');
    const approved = answer(first.message, true);
    // The reader updates the message it continues in place; keep the request as sent.
    const sent = JSON.stringify([approved]);
    const other = await fetch(`${server!.url}/api/ai-sdk/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'someone-else', messages: JSON.parse(sent) }),
    });
    expect(other.status).toBe(403);
    expect((await other.json()).error.code).toBe('forbidden');
    await readAll(await continueWith('chat-replay', [approved]), approved);
    const replay = await fetch(`${server!.url}/api/ai-sdk/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'chat-replay', messages: JSON.parse(sent) }),
    });
    expect(replay.status).toBe(409);
    expect((await replay.json()).error.code).toBe('already_decided');
    expect(runs).toHaveLength(1);
    const forged = JSON.parse(sent.replaceAll((toolPart(first.message).approval as { id: string }).id, 'call_forged'));
    const unknown = await fetch(`${server!.url}/api/ai-sdk/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'chat-replay', messages: forged }),
    });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('unknown_call');
  });
});

describe.each(interopEdges)('AI SDK stop and resume on tokenwire’s log, over %s', (_edge, startEdge) => {
  it('stop (the aborted fetch) cancels the generation when no resume window was asked for', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '200' });
    const controller = new AbortController();
    const stream = await transport({ options: { simulate: { tokens: 2000 } } }).sendMessages({
      trigger: 'submit-message', chatId: 'chat-stop', messageId: undefined, messages: [user('Hello')], abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    let streamId = '';
    while (!streamId) {
      const { value } = await reader.read();
      if (value?.type === 'start') streamId = value.messageId!;
    }
    controller.abort();
    const done = await waitFor(async () => (await frames(streamId)).find((f) => f.type === 'done'), 'done');
    expect(done).toMatchObject({ reason: 'cancelled' });
  });

  it('DELETE /api/ai-sdk/chat/:id/stream cancels a resumable generation at once', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '200' });
    const controller = new AbortController();
    const stream = await transport({ options: { resumeGraceMs: 60_000, simulate: { tokens: 2000 } } }).sendMessages({
      trigger: 'submit-message', chatId: 'chat-cancel', messageId: undefined, messages: [user('Hello')], abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    const { value } = await reader.read();
    const streamId = (value as { messageId: string }).messageId;
    controller.abort();
    const response = await fetch(`${server.url}/api/ai-sdk/chat/chat-cancel/stream`, { method: 'DELETE' });
    expect(await response.json()).toEqual({ ok: true, cancelled: true });
    expect(await waitFor(async () => (await frames(streamId)).find((f) => f.type === 'done'), 'done')).toMatchObject({ reason: 'cancelled' });
  });

  it('reconnectToStream replays the whole message from the log, then follows it live; 204 once it is done', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '400' });
    const controller = new AbortController();
    const chat = transport({ options: { resumeGraceMs: 30_000, simulate: { tokens: 120 } } });
    const stream = await chat.sendMessages({
      trigger: 'submit-message', chatId: 'chat-resume', messageId: undefined, messages: [user('Hello')], abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    let deltas = 0;
    let streamId = '';
    while (deltas < 10) {
      const { value } = await reader.read();
      if (value?.type === 'start') streamId = value.messageId!;
      if (value?.type === 'text-delta') deltas++;
    }
    controller.abort(); // a reload: the connection is gone, the generation goes on

    const resumed = await chat.reconnectToStream({ chatId: 'chat-resume' });
    const { message, chunks } = await readAll(resumed!);
    expect(message.id).toBe(streamId);
    expect(textOf(message)).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).filter((f) => f.type === 'token')).toHaveLength(120);
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    expect(await chat.reconnectToStream({ chatId: 'chat-resume' })).toBeNull();
    expect(await chat.reconnectToStream({ chatId: 'never-started' })).toBeNull();
  });

  it('resumes from Last-Event-ID: re-opens the text part and sends only what came after', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '200' });
    const chat = transport({ options: { resumeGraceMs: 30_000, simulate: { tokens: 400 } } });
    const controller = new AbortController();
    const stream = await chat.sendMessages({
      trigger: 'submit-message', chatId: 'chat-leid', messageId: undefined, messages: [user('Hello')], abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    const { value } = await reader.read();
    const streamId = (value as { messageId: string }).messageId;
    await waitFor(async () => (await frames(streamId)).length > 12, '12 frames');
    controller.abort();
    const response = await fetch(`${server.url}/api/ai-sdk/chat/chat-leid/stream`, { headers: { 'last-event-id': '10' } });
    const text = await response.text();
    const lines = text.split('\n\n').filter(Boolean);
    expect(lines.slice(0, 4)).toEqual([
      `data: {"type":"start","messageId":"${streamId}"}`,
      'data: {"type":"start-step"}',
      'data: {"type":"text-start","id":"text-1"}',
      `id: 11\ndata: ${JSON.stringify({ type: 'text-delta', id: 'text-1', delta: ((await frames(streamId))[11] as { text: string }).text })}`,
    ]);
    const deltas = lines.filter((l) => l.includes('"text-delta"'));
    expect(deltas).toHaveLength(400 - 10);
  });
});
