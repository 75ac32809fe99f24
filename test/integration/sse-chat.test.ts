import { afterEach, describe, expect, it } from 'vitest';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const story = { messages: [{ role: 'user', content: 'Tell me a story' }] };

describe('POST /api/chat over SSE (simulated model)', () => {
  it('sets the streaming headers and names the stream in a header', async () => {
    server = await startServer();
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 3 } } });
    const frames = await session.ended;
    expect(session.status).toBe(200);
    expect(session.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(session.headers['cache-control']).toBe('no-cache, no-transform');
    expect(session.headers['x-accel-buffering']).toBe('no');
    expect(session.headers.connection).toBe('keep-alive');
    expect(session.headers['x-tokenwire-stream-id']).toBe(frames[0]?.streamId);
  });

  it('writes the exact SSE bytes: retry, then id, event and data lines per frame', async () => {
    server = await startServer({ SSE_RETRY_MS: '1500' });
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 1 } } });
    const frames = await session.ended;
    const wire = session.reads.map((r) => r.text).join('');
    const expected = `retry: 1500\n\n${frames.map((f) => `id: ${f.seq}\nevent: ${f.type}\ndata: ${JSON.stringify(f)}\n\n`).join('')}`;
    expect(wire).toBe(expected);
  });

  it('starts with start, then tokens in order, and ends with exactly one done', async () => {
    server = await startServer();
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 12 } } });
    const frames = await session.ended;
    expect(frames[0]).toMatchObject({ type: 'start', seq: 0, transport: 'sse', protocol: 2 });
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(12);
    expect(frames.filter((f) => f.type === 'done')).toHaveLength(1);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  });

  it('streams in several reads, not one lump', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '200' });
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 20 } } });
    await session.ended;
    expect(session.reads.length).toBeGreaterThanOrEqual(10);
  });

  it('fails mid-stream on request with an error frame, then done with reason error', async () => {
    server = await startServer();
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 10, failAfterTokens: 3 } } });
    const frames = await session.ended;
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'token', 'token', 'error', 'done']);
    expect(frames[4]).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(frames[5]).toMatchObject({ reason: 'error' });
  });

  it('sends heartbeat comments while the model is silent', async () => {
    server = await startServer({ HEARTBEAT_MS: '20', SIM_FIRST_TOKEN_MS: '60000' });
    const session = await postSse(`${server.url}/api/chat`, story);
    await waitFor(() => session.comments.length >= 3, 'three heartbeats');
    expect(session.comments.slice(0, 3)).toEqual(['hb', 'hb', 'hb']);
    session.disconnect();
  });

  it('aborts the generation when the client leaves before the first token', async () => {
    server = await startServer({ SIM_FIRST_TOKEN_MS: '60000' });
    const session = await postSse(`${server.url}/api/chat`, story);
    const start = await session.waitForFrame((f) => f.type === 'start');
    const stream = server.core.hub.get(start.streamId);
    expect(stream?.signal.aborted).toBe(false);
    session.disconnect();
    await waitFor(() => stream?.signal.aborted, 'the stream to abort');
    await waitFor(() => stream?.done, 'the stream to finish');
    expect((await loggedFrames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('on shutdown ends open streams with server_shutdown, then done, and aborts the model', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5' });
    const session = await postSse(`${server.url}/api/chat`, { ...story, options: { simulate: { tokens: 1000 } } });
    const first = await session.waitForFrame((f) => f.type === 'token');
    const stream = server.core.hub.get(first.streamId);
    await server.close();
    server = undefined;
    const frames = await session.ended;
    expect(frames.slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'server_shutdown', retryable: true }),
      expect.objectContaining({ type: 'done', reason: 'error' }),
    ]);
    expect(stream?.signal.aborted).toBe(true);
  });
});

describe('bad requests get a 400 with a typed error before any stream', () => {
  const post = (url: string, body: string, type = 'application/json') =>
    fetch(`${url}/api/chat`, { method: 'POST', headers: { 'content-type': type }, body });

  it.each([
    ['text that is not JSON', '{"messages": [', 'invalid_request', 400],
    ['no messages', '{"messages": []}', 'invalid_request', 400],
    ['a message with a wrong role', '{"messages": [{"role":"robot","content":"x"}]}', 'invalid_request', 400],
    ['an unknown field', '{"messages": [{"role":"user","content":"x"}], "stream": true}', 'invalid_request', 400],
    ['an unknown tool', '{"messages": [{"role":"user","content":"x"}], "tools": ["rm_rf"]}', 'unknown_tool', 400],
  ])('%s', async (_name, body, code, status) => {
    server = await startServer();
    const res = await post(server.url, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(0);
    expect(server.core.hub.size).toBe(0);
  });

  it('a body that is not JSON by content type gets 415 unsupported_media_type', async () => {
    server = await startServer();
    const res = await post(server.url, 'messages=hi', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('a body over the size limit gets 413 payload_too_large', async () => {
    server = await startServer();
    const res = await post(server.url, JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2_000_000) }] }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('an unknown API route gets a JSON 404', async () => {
    server = await startServer();
    const res = await fetch(`${server.url}/api/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('the process keeps serving after bad input: /healthz answers 200', async () => {
    server = await startServer();
    await post(server.url, '{{{');
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });
});
