import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatClient, createChatStore, type ChatClient, type ChatState, type ChatStore } from '../../client/index.js';
import type { Reply } from '../helpers/fake-openai.js';
import { useOpenAIHarness } from '../helpers/openai-harness.js';
import { NodeWebSocket } from '../client/fixtures.js';

const t = useOpenAIHarness();

/** Answers the n-th upstream request (0-based) with the n-th script. */
const turns = (...scripts: ((reply: Reply) => void | Promise<void>)[]) =>
  t.upstream.script((reply) => {
    const script = scripts[t.upstream.calls.indexOf(reply.call)];
    if (!script) throw new Error('no script for this request');
    return script(reply);
  });
const weatherCall = (reply: Reply) => {
  reply.toolCall(0, { id: 'call_up_1', name: 'get_weather', arguments: '{"city":"Paris"}' });
  reply.finish('tool_calls');
};
const answer = (text: string) => (reply: Reply) => {
  reply.text(text);
  reply.finish('stop');
};

type UpstreamMessage = { role: string; content?: string | null; tool_calls?: { id: string; function: { name: string } }[]; tool_call_id?: string; [k: string]: unknown };
const upstreamMessages = (n: number) => t.upstream.calls[n]?.body.messages as UpstreamMessage[];
/** An assistant message that says nothing: no text and no calls, which Claude-style upstreams refuse. */
const isEmptyAssistant = (m: UpstreamMessage) => m.role === 'assistant' && !m.content && !m.tool_calls?.length;

function until(store: ChatStore, check: (s: ChatState) => boolean): Promise<ChatState> {
  return new Promise((resolve) => {
    if (check(store.getState())) return resolve(store.getState());
    const off = store.subscribe(() => {
      if (!check(store.getState())) return;
      off();
      resolve(store.getState());
    });
  });
}

const clients: ChatClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('a conversation with tool turns through the client, against a recording upstream', () => {
  it.each(['ws', 'sse'] as const)('sends turn 1 tool call and its result back in turns 2 and 3 (%s), with no empty assistant message', async (transport) => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    const client = createChatClient({ baseUrl: server.url, transport, WebSocket: NodeWebSocket, batchMs: 0 });
    clients.push(client);
    const store = createChatStore(client);
    turns(weatherCall, answer('It is mild in Paris.'), answer('Oslo is colder.'), answer('You asked about Paris and Oslo.'));

    store.send({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: ['get_weather'] });
    const asked = await until(store, (s) => s.pendingApproval !== null);
    const callId = asked.pendingApproval!.callId;
    await store.approve();
    await until(store, (s) => s.status === 'done');

    store.followUp('And in Oslo?');
    await until(store, (s) => s.status === 'done' && s.text === 'Oslo is colder.');
    store.followUp('What did I ask?');
    const last = await until(store, (s) => s.status === 'done' && s.text === 'You asked about Paris and Oslo.');

    expect(t.upstream.calls).toHaveLength(4);
    // The result goes back in the words the engine told the model in turn 1's own tool loop.
    const told = upstreamMessages(1)[2];
    expect(told).toMatchObject({ role: 'tool', tool_call_id: 'call_up_1' });
    const toolTurn = [
      { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: callId, content: told?.content },
      { role: 'assistant', content: 'It is mild in Paris.' },
    ];
    expect(upstreamMessages(2)).toEqual([{ role: 'user', content: 'Weather in Paris?' }, ...toolTurn, { role: 'user', content: 'And in Oslo?' }]);
    expect(upstreamMessages(3)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      ...toolTurn,
      { role: 'user', content: 'And in Oslo?' },
      { role: 'assistant', content: 'Oslo is colder.' },
      { role: 'user', content: 'What did I ask?' },
    ]);
    for (const n of [1, 2, 3]) expect(upstreamMessages(n).filter(isEmptyAssistant), `request ${n}`).toEqual([]);
    // The store's conversation is what the next turn would send.
    expect(last.messages.at(-1)).toEqual({ role: 'assistant', content: 'You asked about Paris and Oslo.' });
    expect(last.messages).toHaveLength(8);
  });

  it('refuses a tool message that answers no earlier call with invalid_request', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'tool', toolCallId: 'call_x', content: '{}' }] }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('must answer a tool call of an earlier assistant message');
    expect(t.upstream.calls).toHaveLength(0);
  });
});

/** One chunk of a DeepSeek-style stream: reasoning in `reasoning_content`. */
const reasoningChunk = (reply: Reply, field: 'reasoning_content' | 'reasoning', text: string) =>
  reply.chunk({ id: 'r', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { [field]: text, content: null }, finish_reason: null }] });

describe('reasoning sent back inside the tool loop', () => {
  it('a DeepSeek-style upstream that refuses a tool-call message without its reasoning_content: the approval loop completes', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    t.upstream.script((reply) => {
      const messages = reply.call.body.messages as UpstreamMessage[];
      // DeepSeek's thinking mode: inside a tool loop, the assistant message must bring back its reasoning.
      if (messages.some((m) => m.role === 'assistant' && m.tool_calls?.length && typeof m.reasoning_content !== 'string')) {
        return reply.fail(400, 'Missing `reasoning_content` field in the assistant message at message index 1.');
      }
      if (messages.at(-1)?.role === 'tool') return answer('Mild.')(reply);
      reasoningChunk(reply, 'reasoning_content', 'The user wants ');
      reasoningChunk(reply, 'reasoning_content', 'the weather.');
      weatherCall(reply);
    });
    const client = createChatClient({ baseUrl: server.url, transport: 'ws', WebSocket: NodeWebSocket, batchMs: 0 });
    clients.push(client);
    const stream = client.chat({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: ['get_weather'] });
    const call = await new Promise<import('../../client/index.js').ToolCall>((resolve) => stream.on('tool_call', resolve));
    await call.approve();
    const result = await stream.result;
    expect(result).toMatchObject({ reason: 'stop', text: 'Mild.', reasoning: 'The user wants the weather.' });
    expect(upstreamMessages(1)[1]).toEqual({
      role: 'assistant',
      content: null,
      reasoning_content: 'The user wants the weather.',
      tool_calls: [{ id: 'call_up_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
  });

  it('sends back no reasoning field an upstream never streamed in it (`reasoning`, as OpenRouter and Groq send it)', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    turns((reply) => {
      reasoningChunk(reply, 'reasoning', 'Thinking.');
      weatherCall(reply);
    }, answer('Mild.'));
    const client = createChatClient({ baseUrl: server.url, transport: 'ws', WebSocket: NodeWebSocket, batchMs: 0 });
    clients.push(client);
    const stream = client.chat({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: ['get_weather'] });
    const call = await new Promise<import('../../client/index.js').ToolCall>((resolve) => stream.on('tool_call', resolve));
    await call.approve();
    expect(await stream.result).toMatchObject({ reason: 'stop', reasoning: 'Thinking.' });
    expect(Object.keys(upstreamMessages(1)[1] ?? {}).sort()).toEqual(['content', 'role', 'tool_calls']);
  });
});

describe('tool turns through the interop routes reach the model in shape', () => {
  const user = (text: string): UIMessage => ({ id: `u-${text.length}`, role: 'user', parts: [{ type: 'text', text }] });
  /** Every UI message snapshot of a response, the last one returned (as `useChat` builds it). */
  async function readMessage(stream: ReadableStream<UIMessageChunk>, message?: UIMessage): Promise<UIMessage> {
    let last: UIMessage | undefined;
    for await (const snapshot of readUIMessageStream({ stream, ...(message ? { message } : {}) })) last = snapshot;
    return last!;
  }

  it('AI SDK: a tool part approved in turn 1 goes upstream as tool_calls and its tool message in turns 2 and 3', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    turns(weatherCall, answer('It is mild in Paris.'), answer('Oslo is colder.'), answer('Paris, then Oslo.'));
    const transport = new DefaultChatTransport<UIMessage>({ api: `${server.url}/api/ai-sdk/chat`, body: { tools: ['get_weather'] } });
    const send = (messages: UIMessage[]) =>
      transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-turns', messageId: undefined, messages, abortSignal: undefined });

    const q1 = user('Weather in Paris?');
    const asked = await readMessage(await send([q1]));
    // What addToolApprovalResponse does to the message before the AI SDK sends it back.
    const approved: UIMessage = {
      ...asked,
      parts: asked.parts.map((p) => {
        const part = p as Record<string, unknown> & { state?: string; approval?: object };
        return part.state === 'approval-requested' ? ({ ...part, state: 'approval-responded', approval: { ...part.approval, approved: true } } as never) : p;
      }),
    };
    const a1 = await readMessage(await send([q1, approved]), approved);
    const tool = a1.parts.find((p) => p.type === 'tool-get_weather') as { toolCallId: string; state: string; output: unknown };
    expect(tool.state).toBe('output-available');
    const q2 = user('And in Oslo now?');
    const a2 = await readMessage(await send([q1, a1, q2]));
    await readMessage(await send([q1, a1, q2, a2, user('What did I ask?')]));

    expect(t.upstream.calls).toHaveLength(4);
    const told = upstreamMessages(1)[2];
    const toolTurn = [
      { role: 'assistant', content: null, tool_calls: [{ id: tool.toolCallId, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: tool.toolCallId, content: told?.content },
      { role: 'assistant', content: 'It is mild in Paris.' },
    ];
    expect(upstreamMessages(2)).toEqual([{ role: 'user', content: 'Weather in Paris?' }, ...toolTurn, { role: 'user', content: 'And in Oslo now?' }]);
    expect(upstreamMessages(3)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      ...toolTurn,
      { role: 'user', content: 'And in Oslo now?' },
      { role: 'assistant', content: 'Oslo is colder.' },
      { role: 'user', content: 'What did I ask?' },
    ]);
    for (const n of [1, 2, 3]) expect(upstreamMessages(n).filter(isEmptyAssistant), `request ${n}`).toEqual([]);
  });

  it('AG-UI: a thread user, assistant{toolCalls}, tool, assistant, user reaches the model in that shape', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    turns(answer('Oslo is colder.'));
    const input = {
      threadId: 'thread-turns',
      runId: 'run-2',
      state: {},
      tools: [],
      context: [],
      forwardedProps: {},
      messages: [
        { id: 'm1', role: 'user', content: 'Weather in Paris?' },
        { id: 'm2', role: 'reasoning', content: 'Look it up.' },
        { id: 'm3', role: 'assistant', toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { id: 'm4', role: 'tool', toolCallId: 'call_1', content: '{"tempC":18}' },
        { id: 'm5', role: 'assistant', content: 'It is mild in Paris.' },
        { id: 'm6', role: 'user', content: 'And in Oslo?' },
      ],
    };
    const response = await fetch(`${server.url}/api/ag-ui`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify(input) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Oslo is colder.');
    expect(upstreamMessages(0)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"tempC":18}' },
      { role: 'assistant', content: 'It is mild in Paris.' },
      { role: 'user', content: 'And in Oslo?' },
    ]);
  });

  it('AG-UI: a tool message for a call no assistant message made is invalid_request', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    const input = {
      threadId: 'thread-bad',
      runId: 'run-1',
      state: {},
      tools: [],
      context: [],
      forwardedProps: {},
      messages: [
        { id: 'm1', role: 'user', content: 'hi' },
        { id: 'm2', role: 'tool', toolCallId: 'call_nobody', content: '{}' },
      ],
    };
    const response = await fetch(`${server.url}/api/ag-ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining('must answer a tool call') } });
    expect(t.upstream.calls).toHaveLength(0);
  });
});
