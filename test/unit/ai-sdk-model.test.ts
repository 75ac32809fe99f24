import type { LanguageModelV3StreamPart, LanguageModelV4StreamPart, LanguageModelV4Usage } from '@ai-sdk/provider';
import { convertArrayToReadableStream, MockLanguageModelV3, MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { aiSdkModel } from '../../server/models/ai-sdk/index.js';
import type { ModelEvent, ModelMessage, ModelRequest } from '../../server/models/provider.js';
import { isTokenwireError } from '../../shared/errors.js';

// aiSdkModel against the AI SDK's own mock models (ai/test): how each finish reason and usage
// shape becomes tokenwire's, what the model is asked, and how the adapter fails.

const usage = (input: number | undefined, output: number | undefined, reasoning?: number): LanguageModelV4Usage => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: undefined, reasoning },
});

const finishPart = (unified: string, parts: { usage?: LanguageModelV4Usage } = {}): LanguageModelV4StreamPart =>
  ({ type: 'finish', finishReason: { unified, raw: `raw-${unified}` }, usage: parts.usage ?? usage(5, 7) }) as LanguageModelV4StreamPart;

const mockModel = (parts: LanguageModelV4StreamPart[]) =>
  new MockLanguageModelV4({ provider: 'mock.chat', modelId: 'mock-1', doStream: async () => ({ stream: convertArrayToReadableStream(parts) }) });

const request = (extra: Partial<ModelRequest> = {}): ModelRequest => ({ messages: [{ role: 'user', content: 'hi' }], tools: [], signal: new AbortController().signal, ...extra });

async function collect(iterable: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const events: ModelEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

async function failure(iterable: AsyncIterable<ModelEvent>): Promise<unknown> {
  try {
    await collect(iterable);
  } catch (error) {
    return error;
  }
  throw new Error('the stream did not fail');
}

describe('aiSdkModel finish reasons and usage (MockLanguageModelV4)', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool-calls', 'tool_calls'],
    ['content-filter', 'content_filter'],
    ['other', 'stop'],
  ] as const)('%s finishes as %s', async (unified, reason) => {
    const events = await collect(aiSdkModel(mockModel([finishPart(unified)])).stream(request()));
    expect(events).toEqual([{ type: 'finish', reason, usage: { promptTokens: 5, completionTokens: 7, totalTokens: 12 } }]);
  });

  it.each(['error', 'interrupted'])('%s fails with upstream_error', async (unified) => {
    const error = await failure(aiSdkModel(mockModel([{ type: 'text-delta', id: 't', delta: 'half' }, finishPart(unified)])).stream(request()));
    expect(isTokenwireError(error) && error.code).toBe('upstream_error');
  });

  it('a stream that ends without a finish part fails with upstream_error', async () => {
    const error = await failure(aiSdkModel(mockModel([{ type: 'text-delta', id: 't', delta: 'half' }])).stream(request()));
    expect(error).toMatchObject({ code: 'upstream_error', message: 'The model service ended the answer without a finish reason.' });
  });

  it('reads reasoning tokens, fills a missing side with 0, and leaves usage out when neither side is known', async () => {
    const cases = [
      [usage(10, 20, 8), { promptTokens: 10, completionTokens: 20, totalTokens: 30, reasoningTokens: 8 }],
      [usage(undefined, 4), { promptTokens: 0, completionTokens: 4, totalTokens: 4 }],
      [usage(undefined, undefined), undefined],
    ] as const;
    for (const [given, expected] of cases) {
      const [finish] = await collect(aiSdkModel(mockModel([finishPart('stop', { usage: given })])).stream(request()));
      expect(finish).toEqual({ type: 'finish', reason: 'stop', ...(expected ? { usage: expected } : {}) });
    }
  });
});

describe('aiSdkModel streams and asks', () => {
  it('streams text and reasoning, turns a whole tool call into one delta, and gives back the parts’ metadata', async () => {
    const model = mockModel([
      { type: 'stream-start', warnings: [] },
      { type: 'reasoning-start', id: 'r0' },
      { type: 'reasoning-delta', id: 'r0', delta: 'Think' },
      { type: 'reasoning-delta', id: 'r0', delta: '', providerMetadata: { anthropic: { signature: 'sig-0' } } },
      { type: 'reasoning-end', id: 'r0' },
      { type: 'text-delta', id: 't', delta: 'Hi' },
      { type: 'tool-input-start', id: 'c1', toolName: 'lookup' },
      { type: 'tool-input-delta', id: 'c1', delta: '{"word"' },
      { type: 'tool-input-end', id: 'c1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: '{"word":"x"}', providerMetadata: { google: { thoughtSignature: 'ts' } } },
      { type: 'tool-call', toolCallId: 'srv', toolName: 'web_search', input: '{}', providerExecuted: true },
      finishPart('tool-calls', { usage: usage(3, 4) }),
    ]);
    expect(await collect(aiSdkModel(model).stream(request()))).toEqual([
      { type: 'reasoning', text: 'Think' },
      { type: 'text', text: 'Hi' },
      { type: 'tool_call_delta', index: 0, id: 'c1', name: 'lookup', argumentsDelta: '{"word":"x"}' },
      {
        type: 'provider_data',
        data: { aiSdk: { reasoning: [{ text: 'Think', providerOptions: { anthropic: { signature: 'sig-0' } } }], toolCalls: { c1: { google: { thoughtSignature: 'ts' } } } } },
      },
      { type: 'finish', reason: 'tool_calls', usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 } },
    ]);
  });

  it('asks with the prompt, tools, temperature, maxTokens, provider options and the abort signal; metadata goes back as providerOptions', async () => {
    const model = mockModel([finishPart('stop')]);
    const messages: ModelMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Look up x and y.' },
      {
        role: 'assistant',
        content: '',
        reasoning: 'Think',
        toolCalls: [
          { id: 'c1', name: 'lookup', arguments: '{"word":"x"}' },
          { id: 'c2', name: 'lookup', arguments: 'not json' },
        ],
        providerData: { aiSdk: { reasoning: [{ text: 'Think', providerOptions: { anthropic: { signature: 'sig-0' } } }, { text: 42 }], toolCalls: { c1: { google: { thoughtSignature: 'ts' } }, c2: 'junk' } } },
      },
      { role: 'tool', toolCallId: 'c1', toolName: 'lookup', content: '{"ok":true,"result":1}' },
      { role: 'tool', toolCallId: 'c2', toolName: 'lookup', content: '{"ok":false,"error":{"code":"invalid_arguments"}}' },
      { role: 'assistant', content: 'Done.', reasoning: 'plain' },
    ];
    const signal = new AbortController().signal;
    const tools = [{ name: 'lookup', description: 'Looks a word up.', parameters: { type: 'object', properties: { word: { type: 'string' } } } }];
    await collect(aiSdkModel(model, { providerOptions: { mock: { level: 1 } } }).stream(request({ messages, tools, temperature: 0.2, maxTokens: 50, signal })));
    const [call] = model.doStreamCalls;
    expect(call).toMatchObject({ temperature: 0.2, maxOutputTokens: 50, providerOptions: { mock: { level: 1 } } });
    expect(call?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(call?.tools).toEqual([{ type: 'function', name: 'lookup', description: 'Looks a word up.', inputSchema: tools[0]!.parameters }]);
    expect(call?.prompt).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Look up x and y.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'Think', providerOptions: { anthropic: { signature: 'sig-0' } } },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { word: 'x' }, providerOptions: { google: { thoughtSignature: 'ts' } } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'lookup', input: {} },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'json', value: { ok: true, result: 1 } } },
          { type: 'tool-result', toolCallId: 'c2', toolName: 'lookup', output: { type: 'error-json', value: { ok: false, error: { code: 'invalid_arguments' } } } },
        ],
      },
      { role: 'assistant', content: [{ type: 'reasoning', text: 'plain' }, { type: 'text', text: 'Done.' }] },
    ]);
  });

  it('takes a v3 model (MockLanguageModelV3) alike', async () => {
    const parts: LanguageModelV3StreamPart[] = [
      { type: 'text-delta', id: 't', delta: 'v3' },
      { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(1, 1) },
    ];
    const model = new MockLanguageModelV3({ provider: 'old.chat', modelId: 'old-1', doStream: async () => ({ stream: convertArrayToReadableStream(parts) }) });
    const provider = aiSdkModel(model);
    expect([provider.name, provider.defaultModel]).toEqual(['old.chat', 'old-1']);
    expect(await collect(provider.stream(request()))).toEqual([{ type: 'text', text: 'v3' }, { type: 'finish', reason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }]);
  });
});

describe('aiSdkModel failures', () => {
  const rejecting = (error: unknown) => new MockLanguageModelV4({ doStream: async () => Promise.reject(error) });

  it.each([
    [{ name: 'AI_APICallError', statusCode: 429, responseHeaders: { 'retry-after': '3' } }, 'upstream_rate_limited'],
    [{ name: 'AI_APICallError', statusCode: 401 }, 'upstream_rejected'],
    [{ name: 'AI_APICallError', statusCode: 504 }, 'upstream_timeout'],
    [{ name: 'AI_APICallError', statusCode: 529 }, 'upstream_error'],
    [{ name: 'AI_APICallError', message: 'Cannot connect', cause: { name: 'TimeoutError' } }, 'upstream_timeout'],
    [new Error('socket hang up'), 'upstream_error'],
  ])('%o from doStream is %s', async (thrown, code) => {
    const error = await failure(aiSdkModel(rejecting(thrown)).stream(request()));
    expect(isTokenwireError(error) && error.code).toBe(code);
    if (code === 'upstream_rate_limited') expect(error).toMatchObject({ retryAfterMs: 3000 });
  });

  it('an error part fails the turn with its code and stops reading', async () => {
    let pulled = 0;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      pull(controller) {
        pulled++;
        controller.enqueue(pulled === 1 ? { type: 'error', error: { type: 'rate_limit_error', message: 'slow', statusCode: 429 } } : { type: 'text-delta', id: 't', delta: 'more' });
      },
    });
    const model = new MockLanguageModelV4({ doStream: async () => ({ stream }) });
    expect(await failure(aiSdkModel(model).stream(request()))).toMatchObject({ code: 'upstream_rate_limited' });
  });

  it('a stream silent for idleTimeoutMs fails with upstream_timeout and is cancelled', async () => {
    let cancelled = false;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({ cancel: () => void (cancelled = true) });
    const model = new MockLanguageModelV4({ doStream: async () => ({ stream }) });
    expect(await failure(aiSdkModel(model, { idleTimeoutMs: 100 }).stream(request()))).toMatchObject({ code: 'upstream_timeout' });
    expect(cancelled).toBe(true);
  });

  it('an abort rejects with the signal’s reason and cancels the stream, even from a model that ignores its signal', async () => {
    let cancelled!: () => void;
    const wasCancelled = new Promise<void>((resolve) => (cancelled = resolve));
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start: (controller) => controller.enqueue({ type: 'text-delta', id: 't', delta: 'a' }),
      cancel: () => cancelled(),
    });
    const controller = new AbortController();
    const events = aiSdkModel(new MockLanguageModelV4({ doStream: async () => ({ stream }) })).stream(request({ signal: controller.signal }))[Symbol.asyncIterator]();
    expect(await events.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } });
    const next = events.next();
    const reason = new Error('cancelled by the test');
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    await wasCancelled;
  });

  it('a request aborted before it starts rejects with the reason and never calls the model', async () => {
    const model = mockModel([finishPart('stop')]);
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    expect(await failure(aiSdkModel(model).stream(request({ signal: controller.signal })))).toBe(reason);
    expect(model.doStreamCalls).toEqual([]);
  });

  it('a chat naming another model is upstream_rejected', async () => {
    const error = await failure(aiSdkModel(mockModel([finishPart('stop')])).stream(request({ model: 'other-model' })));
    expect(error).toMatchObject({ code: 'upstream_rejected' });
  });

  it('refuses what is not a v3 or v4 model, bad options and unknown keys', () => {
    expect(() => aiSdkModel('anthropic/claude' as never)).toThrow(/not a model id string/);
    expect(() => aiSdkModel({ specificationVersion: 'v2', doStream() {} } as never)).toThrow(/specification v2; v3 or v4/);
    expect(() => aiSdkModel(mockModel([]), { idleTimeoutMs: 5 })).toThrow(/idleTimeoutMs/);
    expect(() => aiSdkModel(mockModel([]), { idleTimeout: 5 } as never)).toThrow(/idleTimeout: unknown option \(did you mean 'idleTimeoutMs'\?\)/);
  });
});
