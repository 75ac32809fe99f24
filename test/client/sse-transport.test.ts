import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient } from '../../client/index.js';
import { encodeFrameSse } from '../../shared/frame-codec.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ask } from './fixtures.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
});
afterAll(() => server.close());

/** A response whose body fails after `limit` bytes, as a dropped connection does. */
function cutAfter(response: Response, limit: number): Response {
  let sent = 0;
  const reader = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (sent + value.byteLength >= limit) {
        controller.enqueue(value.slice(0, limit - sent));
        await reader.cancel();
        return controller.error(new TypeError('terminated'));
      }
      sent += value.byteLength;
      controller.enqueue(value);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

/** A scripted stream: start, `tokens` tokens "w0 w1 …", done. */
function script(streamId: string, tokens: number): ServerFrame[] {
  const frames: ServerFrame[] = [{ type: 'start', streamId, seq: 0, protocol: 2, model: 'scripted', transport: 'sse', approvalToken: 'apr_x' }];
  for (let i = 0; i < tokens; i++) frames.push({ type: 'token', streamId, seq: i + 1, text: `${i ? ' ' : ''}w${i}` });
  frames.push({ type: 'done', streamId, seq: tokens + 1, reason: 'stop' });
  return frames;
}

const sse = (frames: ServerFrame[]) => frames.map((f) => encodeFrameSse(f, JSON.stringify(f))).join('');

/**
 * A loopback server that speaks the SSE side of the protocol from a script: the POST body is
 * cut (socket destroyed) after `cutAt` frames; GET /api/streams/:id replays from two frames
 * BEFORE Last-Event-ID, so the client must drop the overlap itself.
 */
async function scriptedServer(tokens: number, cutAt: number) {
  const frames = script('st_scripted', tokens);
  const requests: { method: string; url: string; lastEventId: string | undefined; streamToken?: string | undefined }[] = [];
  const http: Server = createServer((req, res) => {
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    const streamToken = req.headers['x-stream-token'] as string | undefined;
    requests.push({ method: req.method!, url: req.url!, lastEventId, ...(streamToken ? { streamToken } : {}) });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-tokenwire-stream-id': 'st_scripted' });
    if (req.method === 'POST') {
      const body = `retry: 10\n\n${sse(frames.slice(0, cutAt))}`;
      // Cut in the middle of the next frame, as a dropped connection would.
      res.write(body + sse([frames[cutAt]!]).slice(0, 9), () => res.socket?.destroy());
      return;
    }
    res.end(sse(frames.filter((f) => f.seq > Number(lastEventId) - 2)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => http.close(() => resolve())) };
}

describe('SSE transport', () => {
  it('resumes a body cut mid-frame with GET /api/streams/:id and Last-Event-ID, dropping replayed frames', async () => {
    const scripted = await scriptedServer(50, 20);
    try {
      const client = createChatClient({ baseUrl: scripted.url, transport: 'sse' });
      const stream = client.chat(ask('resume me'));
      const reconnects: number[] = [];
      stream.on('reconnect', (r) => reconnects.push(r.lastSeq));
      const result = await stream.result;

      expect(result.reason).toBe('stop');
      expect(result.text).toBe(Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '));
      expect(scripted.requests).toEqual([
        { method: 'POST', url: '/api/chat', lastEventId: undefined },
        // The stream token has its own header, so the app's own Authorization header is untouched.
        { method: 'GET', url: '/api/streams/st_scripted', lastEventId: '19', streamToken: 'apr_x' },
      ]);
      expect(reconnects).toEqual([19]);
      // 52 frames once each: the two replayed frames were dropped.
      expect(stream.stats()).toMatchObject({ reconnects: 1, tokens: 50, frames: 52 });
    } finally {
      await scripted.close();
    }
  });

  it('gives up after maxReconnects when the stream cannot be re-attached, with an error result', async () => {
    let calls = 0;
    const client = createChatClient({
      baseUrl: server.url,
      transport: 'sse',
      maxReconnects: 0,
      fetch: async (input, init) => {
        calls++;
        return cutAfter(await fetch(input, init), 800);
      },
    });
    const result = await client.chat(ask('cut me', { options: { simulate: { tokens: 300 } } })).result;
    expect(calls).toBe(1);
    expect(result.reason).toBe('error');
    expect(result.error?.message).toMatch(/connection to the server was lost/);
  });
});
