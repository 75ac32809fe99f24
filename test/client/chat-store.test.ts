import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, createChatStore, type ChatClient } from '../../client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ask } from './fixtures.js';

let server: TestServer;
let client: ChatClient;
beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '200' });
  client = createChatClient({ baseUrl: server.url, transport: 'sse' });
});
afterAll(async () => {
  client.close();
  await server.close();
});

/** Resolves when the store's state satisfies `check`. */
function until(store: ReturnType<typeof createChatStore>, check: (s: ReturnType<typeof store.getState>) => boolean) {
  return new Promise<void>((resolve) => {
    if (check(store.getState())) return resolve();
    const off = store.subscribe(() => {
      if (check(store.getState())) {
        off();
        resolve();
      }
    });
  });
}

describe('chat store (the core of useChatStream)', () => {
  const stores: ReturnType<typeof createChatStore>[] = [];
  const make = (c: ChatClient = client) => {
    const store = createChatStore(c);
    stores.push(store);
    return store;
  };
  afterEach(() => {
    for (const s of stores.splice(0)) s.cancel();
  });

  it('exposes the reasoning as it grows, apart from the answer (state.reasoning)', async () => {
    const store = make();
    store.send(ask('think, then answer', { options: { simulate: { tokens: 5, reasoningTokens: 8 } } }));
    await until(store, (s) => s.reasoning !== '' && s.text === '');
    await until(store, (s) => s.status === 'done');
    const state = store.getState();
    expect(state.reasoning.split(' ')).toHaveLength(8);
    expect(state.text.split(' ')).toHaveLength(5);
    expect(state.text).not.toContain(state.reasoning);
  });

  it('notifies once per token batch, not once per token (200 tokens/s)', async () => {
    const store = make();
    let notifications = 0;
    store.subscribe(() => notifications++);
    expect(store.getState().status).toBe('idle');
    store.send(ask('count my renders', { options: { simulate: { tokens: 100 } } }));
    await until(store, (s) => s.status === 'done');
    const state = store.getState();
    expect(state.stats?.tokens).toBe(100);
    expect(state.text.split(' ')).toHaveLength(100);
    expect(state.result).toMatchObject({ reason: 'stop', text: state.text });
    // 0.5 s of tokens in 50 ms batches (~11) plus send, start and done.
    expect(notifications).toBeLessThanOrEqual(20);
    expect(notifications).toBeGreaterThanOrEqual(4);
  });

  it('follows only the latest stream: send() cancels the previous one, on the server too', async () => {
    const store = make();
    const first = store.send(ask('first, long', { options: { simulate: { tokens: 100_000 } } }));
    await until(store, (s) => s.text.length > 0);
    const firstUpstream = server.core.hub.get(first.streamId!)!;
    const second = store.send(ask('second, short', { options: { simulate: { tokens: 5 } } }));
    await until(store, (s) => s.status === 'done');
    expect((await first.result).reason).toBe('cancelled');
    await expect.poll(() => firstUpstream.signal.aborted).toBe(true);
    const state = store.getState();
    expect(state.streamId).toBe(second.streamId);
    expect(state.text).toBe((await second.result).text);
  });

  it('after unsubscribe + cancel (an unmount) it never notifies again, and the server aborts', async () => {
    const store = make();
    let calls = 0;
    const unsubscribe = store.subscribe(() => calls++);
    const stream = store.send(ask('unmount me', { options: { simulate: { tokens: 100_000 } } }));
    await until(store, (s) => s.text.length > 0);
    const upstream = server.core.hub.get(stream.streamId!)!;
    unsubscribe();
    store.cancel();
    const seen = calls;
    await expect.poll(() => upstream.done, { timeout: 5_000 }).toBe(true);
    expect((await stream.result).reason).toBe('cancelled');
    expect(upstream.signal.aborted).toBe(true);
    expect(calls).toBe(seen);
  });

  it('exposes the pending approval and approves it', async () => {
    const store = make();
    store.send(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    await until(store, (s) => s.pendingApproval !== null);
    expect(store.getState()).toMatchObject({ status: 'awaiting_approval', pendingApproval: { name: 'get_weather', args: { city: 'Paris' } } });
    await store.approve();
    await until(store, (s) => s.status === 'done');
    expect(store.getState().pendingApproval).toBeNull();
    expect(store.getState().text).toContain('Paris');
  });

  it('puts a refused decision into state.error instead of rejecting, and keeps the call pending', async () => {
    const refusing = createChatClient({
      baseUrl: server.url,
      transport: 'sse',
      fetch: async (input, init) =>
        String(input).includes('/api/approvals/')
          ? Response.json({ error: { code: 'forbidden', message: 'Not allowed.' } }, { status: 403 })
          : fetch(input, init),
    });
    const store = make(refusing);
    store.send(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    await until(store, (s) => s.pendingApproval !== null);
    await expect(store.approve()).resolves.toBeUndefined();
    expect(store.getState().error?.code).toBe('forbidden');
    expect(store.getState().pendingApproval?.status).toBe('pending');
    store.cancel();
    refusing.close();
  });
});
