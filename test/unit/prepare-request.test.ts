import { describe, expect, it } from 'vitest';
import type { PrepareRequest } from '../../server/service/chat-hooks.js';
import { createRequestPreparer } from '../../server/service/prepare-request.js';
import { createDemoTools } from '../../server/tools/index.js';
import type { ChatRequest } from '../../shared/protocol.js';
import { captureLog } from '../helpers/log-capture.js';

// The rules by which the server's decisions meet a client's request, each on its own; the
// transports' side of them is test/integration/server-decides.test.ts.

const context = { transport: 'sse' as const, subject: 'ada' };
const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'client prompt' },
    { role: 'user', content: 'Hi' },
  ],
  tools: ['get_weather'],
  options: { model: 'gpt-client', temperature: 1, maxTokens: 500 },
};

function preparer(prepareRequest: PrepareRequest | undefined, models: string[] = ['gpt-client']) {
  const capture = captureLog('error');
  const prepare = createRequestPreparer({ prepareRequest, allowedModels: new Set(['gpt-default', ...models]), defaultModel: 'gpt-default', tools: createDemoTools(), log: capture.log });
  return { prepare: async (r: ChatRequest = request) => prepare(r, context), records: capture.records };
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code?: string }) => error.code);

describe('createRequestPreparer', () => {
  it('without a hook runs the client\'s request as it is, its model checked against the allow-list', async () => {
    const { prepare } = preparer(undefined);
    const chat = await prepare();
    expect(chat.request).toBe(request);
    expect(chat.model).toBe('gpt-client');
    expect(chat.selected.tools.map((t) => t.name)).toEqual(['get_weather']);
    expect(await codeOf(preparer(undefined, []).prepare())).toBe('model_not_allowed');
    expect((await prepare({ messages: request.messages })).model).toBe('gpt-default');
  });

  it('a hook returning nothing keeps the client\'s request', async () => {
    const chat = await preparer(() => undefined).prepare();
    expect(chat.request).toBe(request);
  });

  it('system replaces the client\'s system messages; with messages of the hook\'s own, those are kept as they are', async () => {
    const prompt = await preparer(() => ({ system: 'server prompt' })).prepare();
    expect(prompt.request.messages).toEqual([
      { role: 'system', content: 'server prompt' },
      { role: 'user', content: 'Hi' },
    ]);
    const own = await preparer(() => ({ system: 'server prompt', messages: [{ role: 'system', content: 'memory' }, { role: 'user', content: 'Hello' }] })).prepare();
    expect(own.request.messages).toEqual([
      { role: 'system', content: 'server prompt' },
      { role: 'system', content: 'memory' },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('options merge over the client\'s key by key; a model in them or in model is the server\'s, never checked', async () => {
    const merged = await preparer(() => ({ options: { maxTokens: 100 } })).prepare();
    expect(merged.request.options).toEqual({ model: 'gpt-client', temperature: 1, maxTokens: 100 });
    expect(merged.model).toBe('gpt-client');
    for (const decided of [{ model: 'gpt-server' }, { options: { model: 'gpt-server' } }]) {
      const chat = await preparer(() => decided, []).prepare();
      expect([chat.model, chat.request.options?.model]).toEqual(['gpt-server', 'gpt-server']);
    }
    // The client's own choice is still checked when the hook leaves the model alone.
    expect(await codeOf(preparer(() => ({ system: 'x' }), []).prepare())).toBe('model_not_allowed');
  });

  it('tools replace the client\'s; a client tool outside them is unknown_tool naming only the offered ones', async () => {
    const offered = await preparer(() => ({ tools: ['get_weather', 'calculate'] })).prepare();
    expect(offered.request.tools).toEqual(['get_weather', 'calculate']);
    expect(offered.selected.specs.map((s) => s.name)).toEqual(['get_weather', 'calculate']);
    const refused = preparer(() => ({ tools: ['calculate'] })).prepare();
    await expect(refused).rejects.toMatchObject({ code: 'unknown_tool', message: 'Unknown tool: get_weather. Known tools: calculate.' });
    const none = await preparer(() => ({ tools: [] })).prepare({ messages: request.messages });
    expect(none.request.tools).toBeUndefined();
    const noneOffered = preparer(() => ({ tools: [] })).prepare();
    await expect(noneOffered).rejects.toMatchObject({ code: 'unknown_tool', message: 'Unknown tool: get_weather. This chat is offered no tools.' });
  });

  it('a hook naming an unregistered tool, returning an unknown key or throwing an untyped error fails internal and is logged', async () => {
    for (const hook of [() => ({ tools: ['rm_rf'] }), () => ({ prompt: 'typo' }) as never, () => Promise.reject(new Error('db down'))] as PrepareRequest[]) {
      const { prepare, records } = preparer(hook);
      expect(await codeOf(prepare())).toBe('internal');
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ level: 50, hook: 'prepareRequest' });
    }
  });

  it('hands the hook the client\'s request as it arrived and who sent it', async () => {
    let seen: unknown;
    await preparer((input) => void (seen = input)).prepare();
    expect(seen).toEqual({ messages: request.messages, subject: 'ada', options: request.options, transport: 'sse', tools: ['get_weather'] });
  });
});
