import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatClient, type TransportName } from '../../client/index.js';
import { waitFor } from '../helpers/events.js';
import { startPrefixProxy, type PrefixProxy } from '../helpers/prefix-proxy.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NodeWebSocket, ask, firstToken, nextToolCall } from './fixtures.js';

// tokenwire mounted under /tw: the proxy serves `/tw/*` only, so a request the client sends to
// the root (`new URL('/api/chat', base)` drops the base's path) gets a 404 and shows in `seen`.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
});
afterAll(() => server.close());

describe.each<TransportName>(['sse', 'ws'])('a client whose baseUrl has a path, over %s', (transport) => {
  let proxy: PrefixProxy;
  const clients: ChatClient[] = [];
  const client = (baseUrl: string) => {
    const made = createChatClient({ baseUrl, transport, WebSocket: NodeWebSocket });
    clients.push(made);
    return made;
  };
  beforeAll(async () => {
    proxy = await startPrefixProxy({ host: '127.0.0.1', port: server.port }, '/tw');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(() => proxy.close());

  it('runs a chat with an approved tool call, and every request and the socket go under /tw', async () => {
    const stream = client(`${proxy.url}/tw`).chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    expect(call).toMatchObject({ name: 'get_weather', status: 'pending' });
    await call.approve();
    const result = await stream.result;

    expect(result).toMatchObject({ reason: 'stop', transport });
    expect(result.text).toMatch(/weather in Paris is/);
    expect(stream.toolResults).toEqual([expect.objectContaining({ callId: call.callId, ok: true })]);
    const paths = proxy.seen.map((p) => p.replace(/\?.*/, ''));
    expect(paths.filter((p) => !p.startsWith('/tw/'))).toEqual([]);
    // Over SSE the decision is an HTTP request; over WebSocket it is a frame on /tw/ws.
    if (transport === 'sse') expect(paths).toEqual(['/tw/api/chat', `/tw/api/approvals/${call.callId}`]);
    else expect(paths).toEqual(['/tw/ws']);
  });

  it('resumes after a dropped connection and cancels under /tw/ (a trailing slash)', async () => {
    const before = proxy.seen.length;
    const stream = client(`${proxy.url}/tw/`).chat(ask('a long story', { options: { simulate: { tokens: 100_000 } } }));
    await firstToken(stream);
    const resumed = new Promise((resolve) => stream.on('reconnect', resolve));
    stream.dropConnection();
    await resumed;
    const seqAtReconnect = stream.ref!.lastSeq;
    await waitFor(() => stream.ref!.lastSeq > seqAtReconnect, 'a frame after the resume');
    const hubStream = server.core.hub.get(stream.streamId!)!;
    stream.cancel();

    expect((await stream.result).reason).toBe('cancelled');
    await waitFor(() => hubStream.done, 'the server to end the cancelled stream');
    const paths = proxy.seen.slice(before).map((p) => p.replace(/\?.*/, ''));
    expect(paths.filter((p) => !p.startsWith('/tw/'))).toEqual([]);
    const id = stream.streamId!;
    // SSE: post, resume with GET, cancel with DELETE. WebSocket: a second socket, resume and cancel as frames.
    if (transport === 'sse') expect(paths).toEqual(['/tw/api/chat', `/tw/api/streams/${id}`, `/tw/api/streams/${id}`]);
    else expect(paths).toEqual(['/tw/ws', '/tw/ws']);
  });
});
