import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatClient, type TransportName } from '../../client/index.js';
import type { ModelEvent } from '../../server/models/provider.js';
import { scriptedProvider } from '../helpers/scripted-provider.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NodeWebSocket, ask, collectBatches, firstToken, nextToolCall } from './fixtures.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
});
afterAll(() => server.close());

describe.each<TransportName>(['sse', 'ws'])('chat client over %s', (transport) => {
  let client: ChatClient;
  beforeAll(() => {
    client = createChatClient({ baseUrl: server.url, transport, WebSocket: NodeWebSocket });
  });
  afterAll(() => client.close());

  it('streams the answer in order, in batches, and ends with done(stop) and usage', async () => {
    const stream = client.chat(ask('Tell me a story', { options: { simulate: { tokens: 60 } } }));
    const batches = collectBatches(stream);
    const starts: string[] = [];
    stream.on('start', (s) => starts.push(s.streamId));
    const result = await stream.result;

    expect(result.reason).toBe('stop');
    expect(result.transport).toBe(transport);
    expect(result.usage?.completionTokens).toBe(60);
    expect(result.error).toBeUndefined();
    expect(batches.map((b) => b.text).join('')).toBe(result.text);
    expect(batches.reduce((n, b) => n + b.tokens, 0)).toBe(60);
    expect(starts).toEqual([result.streamId]);
    expect(server.core.hub.get(result.streamId!)?.done).toBe(true);
    const stats = stream.stats();
    expect(stats).toMatchObject({ transport, tokens: 60, frames: 62, reconnects: 0 });
    expect(stats.bytes).toBeGreaterThan(result.text.length);
    expect(stats.firstTokenMs).toBeGreaterThanOrEqual(0);
    expect(stream.status).toBe('done');
  });

  it('hands the model\'s reasoning to onReasoning, all of it before the answer, and counts it in usage', async () => {
    const stream = client.chat(ask('Think first', { options: { simulate: { tokens: 10, reasoningTokens: 12 } } }));
    const order: string[] = [];
    const thoughts: string[] = [];
    stream.onReasoning((batch) => {
      order.push('reasoning');
      thoughts.push(batch.text);
    });
    stream.onToken(() => order.push('token'));
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(thoughts.join('')).toBe(stream.reasoning);
    expect(result.reasoning).toBe(stream.reasoning);
    expect(stream.reasoning.split(' ')).toHaveLength(12);
    expect(order.lastIndexOf('reasoning')).toBeLessThan(order.indexOf('token'));
    expect(result.usage).toMatchObject({ completionTokens: 22, reasoningTokens: 12 });
    expect(result.text.split(' ')).toHaveLength(10);
  });

  it('gives the same text over this transport as the model produced (deterministic prompt)', async () => {
    const a = await client.chat(ask('Same prompt, same words', { options: { simulate: { tokens: 25 } } })).result;
    const b = await createChatClient({ baseUrl: server.url, transport: 'sse' }).chat(ask('Same prompt, same words', { options: { simulate: { tokens: 25 } } })).result;
    expect(a.text).toBe(b.text);
    expect(a.text.split(' ')).toHaveLength(25);
  });

  it('runs an approved tool call and the answer uses its result (the city)', async () => {
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required', status: 'pending' });
    expect(stream.status).toBe('awaiting_approval');
    expect(stream.pendingApproval).toBe(call);
    await call.approve();
    expect(call.status).toBe('approved');
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(stream.toolResults).toEqual([expect.objectContaining({ callId: call.callId, ok: true })]);
    expect(result.text).toContain('Paris');
    expect(result.text).toMatch(/weather in Paris is/);
  });

  it('hands over where a call\'s arguments hold characters a person cannot see (protocol minor 4)', async () => {
    async function* callTurn(): AsyncIterable<ModelEvent> {
      yield { type: 'tool_call_delta', index: 0, id: 'up_1', name: 'get_weather', argumentsDelta: '{"city":"Par\\u200bis\\u202e"}' };
      yield { type: 'finish', reason: 'tool_calls' };
    }
    async function* answerTurn(): AsyncIterable<ModelEvent> {
      yield { type: 'text', text: 'Not checked.' };
      yield { type: 'finish', reason: 'stop' };
    }
    const scripted = await startServer({}, { provider: scriptedProvider([callTurn, answerTurn]) });
    const own = createChatClient({ baseUrl: scripted.url, transport, WebSocket: NodeWebSocket });
    try {
      const stream = own.chat(ask('Weather?', { tools: ['get_weather'] }));
      const call = await nextToolCall(stream);
      expect(call.args).toEqual({ city: 'Par\u200bis\u202e' });
      expect(call.hiddenCharacters).toEqual([{ path: '/city', codePoints: ['U+200B', 'U+202E'] }]);
      await call.deny('hidden characters');
      expect((await stream.result).reason).toBe('stop');
    } finally {
      own.close();
      await scripted.close();
    }
  });

  it('denies a tool call and the model says it could not', async () => {
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    await call.deny('not today');
    const result = await stream.result;
    expect(call.status).toBe('denied');
    expect(stream.toolResults[0]).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(result.reason).toBe('stop');
    expect(result.text).toMatch(/could not/i);
  });

  it('refuses a second decision on the same call', async () => {
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    await call.approve();
    await expect(call.deny()).rejects.toMatchObject({ code: 'already_decided' });
    expect((await stream.result).text).toContain('Paris');
  });

  it('cancel stops the upstream request on the server and resolves with cancelled', async () => {
    const stream = client.chat(ask('A very long story', { options: { simulate: { tokens: 1_000_000 } } }));
    await firstToken(stream);
    const streamId = stream.streamId!;
    const upstream = server.core.hub.get(streamId)!;
    expect(upstream.signal.aborted).toBe(false);
    stream.cancel();
    const result = await stream.result;
    expect(result.reason).toBe('cancelled');
    expect(stream.status).toBe('cancelled');
    await expect.poll(() => upstream.signal.aborted, { timeout: 5_000 }).toBe(true);
    await expect.poll(() => upstream.done, { timeout: 5_000 }).toBe(true);
    expect(upstream.lastSeq).toBeLessThan(100_000);
  });

  it('an upstream failure ends with reason error and the code of the error frame', async () => {
    const stream = client.chat(ask('Fail soon', { options: { simulate: { tokens: 50, failAfterTokens: 5 } } }));
    const errors: string[] = [];
    stream.on('error', (e) => errors.push(e.code));
    const result = await stream.result;
    expect(result.reason).toBe('error');
    expect(result.error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(errors).toEqual(['upstream_error']);
    expect(result.text.split(' ')).toHaveLength(5);
    expect(stream.status).toBe('error');
  });

  it('a request the server refuses resolves with its error code, never rejects', async () => {
    const result = await client.chat(ask('hello', { tools: ['no_such_tool'] })).result;
    expect(result.reason).toBe('error');
    expect(result.error?.code).toBe('unknown_tool');
  });
});

describe('chat client, transport-specific behaviour', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  const make = (...args: Parameters<typeof createChatClient>) => {
    const c = createChatClient(...args);
    clients.push(c);
    return c;
  };

  it('rejects an invalid request locally, before any network traffic', async () => {
    let fetches = 0;
    const client = make({ baseUrl: server.url, transport: 'sse', fetch: (...a) => (fetches++, fetch(...a)) });
    const result = await client.chat({ messages: [] }).result;
    expect(result).toMatchObject({ reason: 'error', error: { code: 'invalid_request' } });
    expect(fetches).toBe(0);
  });

  it('SSE asks headers() again for every request (the chat and the approval)', async () => {
    const seen: Record<string, string>[] = [];
    let calls = 0;
    const client = make({
      baseUrl: server.url,
      transport: 'sse',
      headers: () => ({ authorization: `Bearer token-${++calls}` }),
      fetch: (input, init) => {
        seen.push({ ...(init?.headers as Record<string, string>) });
        return fetch(input, init);
      },
    });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    await call.approve();
    await stream.result;
    expect(calls).toBe(2);
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(seen[0]).toMatchObject({ 'content-type': 'application/json', accept: 'text/event-stream' });
  });

  it('SSE turns an HTTP error body into a TokenwireError with the server\'s code and message', async () => {
    // The body is broken on its way out, so the server answers 400 before any stream exists.
    const client = make({ baseUrl: server.url, transport: 'sse', fetch: (input, init) => fetch(input, { ...init, body: '{' }) });
    const result = await client.chat(ask('hello')).result;
    expect(result.reason).toBe('error');
    expect(result.error).toMatchObject({ name: 'TokenwireError', code: 'invalid_request', message: 'The body is not valid JSON.' });
  });

  it('auto picks SSE for one-way chat and WebSocket when tools need approval', async () => {
    const client = make({ baseUrl: server.url, WebSocket: NodeWebSocket });
    expect(client.pickTransport({})).toBe('sse');
    expect(client.pickTransport({ tools: ['get_weather'] })).toBe('ws');
    expect(client.pickTransport({ interactive: true })).toBe('ws');
    expect(client.pickTransport({ tools: ['get_weather'], transport: 'sse' })).toBe('sse');

    const plain = await client.chat(ask('hi', { options: { simulate: { tokens: 3 } } })).result;
    expect(plain.transport).toBe('sse');
    const interactive = await client.chat(ask('hi', { interactive: true, options: { simulate: { tokens: 3 } } })).result;
    expect(interactive.transport).toBe('ws');
    expect(server.core.hub.get(interactive.streamId!)).toBeDefined();
  });
});
