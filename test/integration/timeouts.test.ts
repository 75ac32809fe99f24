import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../server/access/authenticator.js';
import { once } from '../helpers/events.js';
import { openSocket, parseResponse } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse } from '../helpers/sse-client.js';
import { refusedUpgrade } from '../helpers/ws-client.js';

// slow and idle connections are timed out (headers, body, keep-alive, silence, the
// WebSocket handshake); streaming responses are not. Small timeouts keep the test fast; every
// wait is for an event (a socket's close) with a bound.

const TIMEOUTS = { HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600', KEEP_ALIVE_TIMEOUT_MS: '300', WS_HANDSHAKE_TIMEOUT_MS: '200' };
const SOCKETS = 20;

let server: TestServer;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
});

/** A raw socket that records what it was sent and when it closed. */
async function track(port: number) {
  const socket = await openSocket(port);
  sockets.push(socket);
  socket.on('error', () => {});
  const opened = performance.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  const closed = once(socket as unknown as Parameters<typeof once>[0], 'close', 5_000).then(() => ({ afterMs: performance.now() - opened, received }));
  return { socket, closed };
}

/** Writes `text` one byte at a time every `everyMs`, as a slowloris client does, until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++] as string);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

describe('connection timeouts (slowloris)', () => {
  it(`closes ${SOCKETS} silent connections, ${SOCKETS} trickling headers and ${SOCKETS} trickling a body, while a normal client is served`, async () => {
    server = await startServer({ ...TIMEOUTS, SIM_TOKENS_PER_SECOND: '2000' });
    const silent = await Promise.all(Array.from({ length: SOCKETS }, () => track(server.port)));
    const slowHeaders = await Promise.all(Array.from({ length: SOCKETS }, () => track(server.port)));
    for (const { socket } of slowHeaders) trickle(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1_000), 50);
    const slowBodies = await Promise.all(Array.from({ length: SOCKETS }, () => track(server.port)));
    for (const { socket } of slowBodies) {
      socket.write('POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      trickle(socket, ' '.repeat(999), 50);
    }

    // Meanwhile a normal client gets its whole stream.
    const normal = await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 20 } } });
    expect((await normal.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });

    const [quiet, headers, bodies] = await Promise.all([silent, slowHeaders, slowBodies].map((group) => Promise.all(group.map((g) => g.closed))));
    // Silent: closed without a word once HEADERS_TIMEOUT_MS passed (plus Node's sweep interval).
    for (const c of quiet!) expect(c.received).toBe('');
    // Trickled headers and bodies: a typed 408 from Node's timeouts through our clientError handler.
    for (const c of [...headers!, ...bodies!]) {
      const response = parseResponse(c.received);
      expect(response.status).toBe(408);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'request_timeout' } });
    }
    const slowest = (group: { afterMs: number }[]) => Math.round(Math.max(...group.map((c) => c.afterMs)));
    console.log(`slowloris (${SOCKETS} each): silent closed by ${slowest(quiet!)} ms, slow headers by ${slowest(headers!)} ms, slow bodies by ${slowest(bodies!)} ms`);
    expect(slowest(quiet!)).toBeLessThan(1_500);
    expect(slowest(headers!)).toBeLessThan(1_500);
    expect(slowest(bodies!)).toBeLessThan(2_000);
  });

  it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_MS', async () => {
    server = await startServer(TIMEOUTS);
    const { socket, closed } = await track(server.port);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const { received, afterMs } = await closed;
    expect(parseResponse(received).status).toBe(200);
    expect(afterMs).toBeGreaterThanOrEqual(250);
  });

  it('does not cut a streaming response that outlives REQUEST_TIMEOUT_MS', async () => {
    server = await startServer({ ...TIMEOUTS, SIM_TOKENS_PER_SECOND: '40' });
    const started = performance.now();
    const session = await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 60 } } });
    const frames = await session.ended;
    expect(performance.now() - started).toBeGreaterThan(1_200);
    expect(frames.filter((f) => f.type === 'token')).toHaveLength(60);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('refuses a WebSocket handshake that takes longer than WS_HANDSHAKE_TIMEOUT_MS with a typed 408', async () => {
    const stuck: Authenticator = { required: true, authenticate: () => new Promise(() => {}) };
    server = await startServer(TIMEOUTS, { authenticator: stuck });
    const refused = await refusedUpgrade(server.url);
    expect(refused.status).toBe(408);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'request_timeout' } });
  });
});
