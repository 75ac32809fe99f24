import { request, Agent, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelEvent } from '../../server/models/provider.js';
import { waitFor } from '../helpers/events.js';
import { openSocket, rawRequest } from '../helpers/raw-http.js';
import { scriptedProvider } from '../helpers/scripted-provider.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The SSE view writes whole HTTP/1.1 chunks to the socket itself (server/views/sse.ts):
// these pin the framing a strict parser (Node's llhttp) checks, the fallbacks, and keep-alive.

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const chat = (tokens: number, text = 'Tell me a story'): string => JSON.stringify({ messages: [{ role: 'user', content: text }], options: { simulate: { tokens } } });

/** One request through `agent`; resolves with the response, its whole body and whether the socket was reused. */
function send(agent: Agent, port: number, method: string, path: string, body?: string): Promise<{ res: IncomingMessage; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ res, body: text, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('SSE on the wire: chunked framing written by the view', () => {
  it('a chunked answer parses strictly and ends cleanly: the keep-alive connection serves the next requests', async () => {
    // Multi-byte tokens: a chunk's size counts bytes, not characters.
    const words = ['Grüße', ' — ', '😀', ' ünïcödé', ' 東京', ' plain'];
    async function* turn(): AsyncIterable<ModelEvent> {
      for (let i = 0; i < 40; i++) yield { type: 'text', text: words[i % words.length] as string };
      yield { type: 'finish', reason: 'stop' };
    }
    server = await startServer({}, { provider: scriptedProvider([turn, turn]) });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(agent, server.port, 'POST', '/api/chat', chat(40));
      expect(first.res.headers['transfer-encoding']).toBe('chunked');
      expect(first.body.match(/^event: token$/gm)).toHaveLength(40);
      expect(first.body).toContain('"text":" 東京"');
      expect(first.body).toMatch(/event: done\ndata: .*\n\n$/);
      const second = await send(agent, server.port, 'POST', '/api/chat', chat(40));
      expect(second.reused).toBe(true);
      expect(second.body.match(/^event: token$/gm)).toHaveLength(40);
      const health = await send(agent, server.port, 'GET', '/healthz');
      expect(health.reused).toBe(true);
      expect(health.res.statusCode).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('a request that asks to close (Connection: close, RFC 9112 §9.6) is told so: no keep-alive a pooled client would reuse', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5000' });
    const body = chat(3);
    const res = await rawRequest(
      server.port,
      `POST /api/chat HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    // A pooling client that sends the header on each request: every one is answered.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: server!.port, method: 'POST', path: '/api/chat', agent, headers: { 'content-type': 'application/json', connection: 'close' } }, (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (chunk: string) => (text += chunk));
            r.on('end', () => resolve(text));
          });
          req.on('error', reject);
          req.end(body);
        });
        expect(answer).toMatch(/event: done\n/);
      }
    } finally {
      agent.destroy();
    }
  });

  it('an HTTP/1.0 client gets the frames unchunked, ended by the close', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5000' });
    const body = chat(5);
    const res = await rawRequest(
      server.port,
      `POST /api/chat HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.body.startsWith('retry: ')).toBe(true);
    expect(res.body.match(/^event: token$/gm)).toHaveLength(5);
    expect(res.body).toMatch(/event: done\ndata: .*\n\n$/);
  });

  it('HEAD on a stream answers the SSE headers without a body', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5000', STREAM_TTL_MS: '60000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const chatted = await send(agent, server.port, 'POST', '/api/chat', chat(3));
      const start = JSON.parse(/^event: start\ndata: (.*)$/m.exec(chatted.body)?.[1] ?? '{}') as { streamId: string; streamToken: string };
      const head = await send(agent, server.port, 'HEAD', `/api/streams/${start.streamId}?token=${start.streamToken}`);
      expect(head.res.statusCode).toBe(200);
      expect(head.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(head.body).toBe('');
      // On a live stream too: the HEAD ends at once, and the connection serves the next request.
      // On a live stream (its own viewer elsewhere) the HEAD ends at once: a request pipelined
      // behind it on the same connection is answered, and the stream goes on.
      const live = await server.core.chat.startChat({ messages: [{ role: 'user', content: 'a long one' }], options: { simulate: { tokens: 100_000, tokensPerSecond: 5 } } }, { transport: 'sse' });
      const leave = live.attachViewer();
      const socket = await openSocket(server.port);
      let raw = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (raw += chunk));
      socket.write(`HEAD /api/streams/${live.id}?token=${live.streamToken} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor(() => raw.includes('"ok":true'), 'the pipelined /healthz answer');
      socket.destroy();
      expect(raw.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      expect(raw).toMatch(/content-type: text\/event-stream; charset=utf-8\r\n/i);
      expect(live.done).toBe(false);
      leave();
    } finally {
      agent.destroy();
    }
  });
});
