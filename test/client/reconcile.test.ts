import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, createChatStore, type ChatClient, type ChatClientOptions, type ChatStreamStatus, type TransportName } from '../../client/index.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NodeWebSocket, ask, firstToken, gatedWebSocket, nextToolCall } from './fixtures.js';

// drop the connection on purpose, what the client learns on every reconnect, and
// replays that reach the UI in one batch.
let server: TestServer;
const clients: ChatClient[] = [];

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.close());

/**
 * A client whose reconnects fail while its gate is shut: SSE resumes (GET /api/streams/…) are
 * refused by its fetch, new WebSockets dial a closed port. The test decides when the client is back.
 */
function gatedClient(transport: TransportName, extra: ChatClientOptions = {}) {
  const sockets = gatedWebSocket();
  let shut = false;
  const requests: string[] = [];
  const client = createChatClient({
    baseUrl: server.url,
    transport,
    maxReconnects: 8,
    WebSocket: sockets.ctor,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      requests.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      if (shut && url.pathname.startsWith('/api/streams/')) throw new TypeError('fetch failed: the network is down (test gate)');
      return fetch(input, init);
    },
    ...extra,
  });
  clients.push(client);
  return {
    client,
    requests,
    sockets: sockets.sockets,
    shut: () => ((shut = true), sockets.shut()),
    open: () => ((shut = false), sockets.open()),
  };
}


describe.each(['sse', 'ws'] as const)('reconcile on every reconnect (%s)', (transport) => {
  it('dropConnection() mid-stream: the stream says reconnecting, resumes from its last seq and loses nothing', async () => {
    const prompt = ask('Explain streaming in one paragraph.', { options: { simulate: { tokens: 300 } } });
    const reference = await createChatClient({ baseUrl: server.url, transport: 'sse' }).chat(prompt).result;
    const { client } = gatedClient(transport);
    const stream = client.chat(prompt);
    const statuses: ChatStreamStatus[] = [];
    stream.on('change', (s) => statuses.at(-1) !== s.status && statuses.push(s.status));
    await firstToken(stream);
    stream.dropConnection();
    const result = await stream.result;

    expect(result.reason).toBe('stop');
    expect(result.text).toBe(reference.text);
    expect(result.text.split(' ')).toHaveLength(300);
    expect(statuses).toContain('reconnecting');
    expect(statuses.at(-1)).toBe('done');
    const stats = stream.stats();
    expect(stats.reconnects).toBe(1);
    expect(stats.tokens).toBe(300);
    expect(stats.resumeMs).toBeGreaterThan(0);
    expect(stats.payloadBytes).toBe(new TextEncoder().encode(result.text).length);
    expect(stats.bytes).toBeGreaterThan(stats.payloadBytes);
  });

  it('a replay of 2,000+ frames after a reconnect reaches a store in at most a few changes, and the missed done ends it', async () => {
    const gated = gatedClient(transport);
    const store = createChatStore(gated.client);
    let publishes = 0;
    store.subscribe(() => publishes++);
    const stream = store.send(ask('x', { options: { simulate: { tokens: 2_400, tokensPerSecond: 4_000 } } }));
    await firstToken(stream);
    gated.shut();
    stream.dropConnection();
    const framesAtDrop = stream.stats().frames;
    const wordsAtDrop = stream.text.split(' ').length;
    const upstream = server.core.hub.get(stream.streamId!)!;
    // The server finishes the answer while the client is away: it has to learn `done` on reconnect.
    await expect.poll(() => upstream.done, { timeout: 10_000 }).toBe(true);
    expect(stream.status).toBe('reconnecting');
    const before = publishes;
    gated.open();
    const result = await stream.result;
    // SSE merges the token frames a replay writes at once (sse-coalesce.ts): count the tokens too.
    const replayed = stream.stats().frames - framesAtDrop;
    const replayedTokens = store.getState().text.split(' ').length - wordsAtDrop;
    const commits = publishes - before;
    console.log(`${transport}: ${replayedTokens} tokens in ${replayed} frames replayed after a reconnect → ${commits} store change(s)`);

    expect(result.reason).toBe('stop');
    expect(store.getState().status).toBe('done');
    expect(store.getState().text.split(' ')).toHaveLength(2_400);
    expect(replayedTokens).toBeGreaterThanOrEqual(2_000);
    expect(commits).toBeLessThanOrEqual(3);
  });

  it('a tool call decided elsewhere while the client was away is not offered again after the reconnect', async () => {
    const gated = gatedClient(transport);
    const stream = gated.client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    const offers: string[] = [];
    stream.on('tool_call', (c) => offers.push(c.callId));
    gated.shut();
    stream.dropConnection();
    // Another tab approves it with the stream token, over HTTP, while this client is away.
    const decided = await fetch(`${server.url}/api/approvals/${call.callId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stream-token': stream.ref!.token! },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(decided.status).toBe(200);
    expect(stream.pendingApproval?.callId).toBe(call.callId);
    gated.open();
    const result = await stream.result;

    expect(result.reason).toBe('stop');
    expect(result.text).toMatch(/weather in Paris is/);
    expect(offers).toEqual([]);
    expect(call.status).toBe('approved');
    expect(stream.pendingApproval).toBeUndefined();
    expect(stream.stats().approvalRoundTripMs).toBeUndefined();
  });

  it('client.resume(ref) with lastSeq -1 rebuilds the whole answer; a wrong token ends with forbidden instead of hanging', async () => {
    const { client } = gatedClient(transport);
    // Another client, as a reloaded page is: the server keeps one view of a stream per socket.
    const { client: reloaded } = gatedClient(transport);
    const first = client.chat(ask('Tell me a story about a lighthouse.', { options: { simulate: { tokensPerSecond: 200 } } }));
    await firstToken(first);
    const ref = first.ref!;
    expect(client.resume(ref).status).toBe('connecting');
    const again = reloaded.resume({ ...ref, lastSeq: -1 });
    const [a, b] = await Promise.all([first.result, again.result]);
    expect(b.reason).toBe('stop');
    expect(b.text).toBe(a.text);
    expect(b.text).toMatch(/lighthouse/);

    const running = client.chat(ask('Tell me a story about a lighthouse.', { options: { simulate: { tokensPerSecond: 100 } } }));
    await firstToken(running);
    const { client: stranger_ } = gatedClient(transport);
    const stranger = stranger_.resume({ ...running.ref!, token: 'st_wrong_token_0000000000', lastSeq: -1 });
    const refused = await stranger.result;
    expect(refused).toMatchObject({ reason: 'error', error: { code: 'forbidden' } });
    running.cancel();
  });
});

describe('WebSocket auth token (AUTH=jwt)', () => {
  it('wsAuthToken sends the bearer token as ?access_token= on the upgrade, where a browser cannot set headers', async () => {
    const secured = await startServer({ AUTH: 'jwt', JWT_SECRET: HS_SECRET });
    try {
      const token = await signJwt({ sub: 'ada' });
      const ok = createChatClient({ baseUrl: secured.url, transport: 'ws', WebSocket: NodeWebSocket, wsAuthToken: () => token });
      // A browser cannot tell a refused upgrade from a network failure: without a window it gives up at once.
      const without = createChatClient({ baseUrl: secured.url, transport: 'ws', WebSocket: NodeWebSocket, reconnectWindowMs: 0 });
      clients.push(ok, without);
      const result = await ok.chat(ask('Explain streaming in one paragraph.', { options: { simulate: { tokens: 5 } } })).result;
      expect(result).toMatchObject({ reason: 'stop', transport: 'ws' });
      const refused = await without.chat(ask('hello')).result;
      expect(refused).toMatchObject({ reason: 'error', error: { code: 'connection_lost' } });
    } finally {
      await secured.close();
    }
  });
});
