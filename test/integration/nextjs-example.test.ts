import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as decide } from '../../examples/nextjs/app/api/approvals/[callId]/route.js';
import { POST as chat } from '../../examples/nextjs/app/api/chat/route.js';
import { DELETE as cancel, GET as resume } from '../../examples/nextjs/app/api/streams/[id]/route.js';
import { core } from '../../examples/nextjs/app/api/tokenwire.js';
import { createChatClient } from '../../client/index.js';
import { ask, firstToken, nextToolCall } from '../client/fixtures.js';

// Issue 13: the Next.js example is complete: its route modules, routed as Next.js routes them
// (a plain Node HTTP server turning requests into web Requests), driven by tokenwire's client.
let server: Server;
let baseUrl: string;

async function toRequest(req: IncomingMessage, url: URL): Promise<Request> {
  const abort = new AbortController();
  req.socket.once('close', () => abort.abort());
  const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  return new Request(url, { method: req.method ?? 'GET', headers, body, signal: abort.signal, ...(body ? { duplex: 'half' } : {}) } as RequestInit);
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', baseUrl);
  const request = await toRequest(req, url);
  const [, api, kind, id] = url.pathname.split('/');
  let response: Response;
  if (api !== 'api') response = new Response('not found', { status: 404 });
  else if (kind === 'chat' && req.method === 'POST') response = await chat(request);
  else if (kind === 'streams' && id && req.method === 'GET') response = await resume(request, { params: Promise.resolve({ id }) });
  else if (kind === 'streams' && id && req.method === 'DELETE') response = await cancel(request, { params: Promise.resolve({ id }) });
  else if (kind === 'approvals' && id && req.method === 'POST') response = await decide(request, { params: Promise.resolve({ callId: id }) });
  else response = new Response('not found', { status: 404 });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return void res.end();
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  res.on('close', () => body.destroy());
  body.pipe(res);
}

beforeAll(async () => {
  server = createServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await core.shutdown(100);
});

describe('examples/nextjs routes, driven by the client over SSE', () => {
  it('chat with a tool approval: the decision goes to the approvals route and the answer uses the result', async () => {
    const client = createChatClient({ baseUrl, transport: 'sse' });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    await call.approve();
    const result = await stream.result;
    expect(result).toMatchObject({ reason: 'stop', transport: 'sse' });
    expect(result.text).toMatch(/^The weather in Paris is/);
    client.close();
  });

  it('a dropped connection resumes through the streams route with nothing lost; cancel goes through it too', async () => {
    const client = createChatClient({ baseUrl, transport: 'sse' });
    const prompt = ask('Explain streaming in one paragraph.', { options: { simulate: { tokens: 60, tokensPerSecond: 300 } } });
    const reference = await client.chat(prompt).result;
    const stream = client.chat(prompt);
    await firstToken(stream);
    stream.dropConnection();
    const result = await stream.result;
    expect(result.text).toBe(reference.text);
    expect(stream.stats().reconnects).toBe(1);

    const long = client.chat(ask('Tell me a story.', { options: { simulate: { tokens: 100_000, tokensPerSecond: 200 } } }));
    await firstToken(long);
    const upstream = core.hub.get(long.streamId!)!;
    long.cancel();
    await expect.poll(() => upstream.done, { timeout: 5_000 }).toBe(true);
    expect(upstream.signal.aborted).toBe(true);
    client.close();
  });
});
