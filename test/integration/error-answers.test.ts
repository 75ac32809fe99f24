import { afterEach, describe, expect, it } from 'vitest';
import { TokenwireError } from '../../shared/errors.js';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { createMemoryStore } from '../../server/streams/memory-store.js';
import type { StreamStore } from '../../server/streams/stream-store.js';
import { captureLog } from '../helpers/log-capture.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs } from '../helpers/ws-client.js';

// Every error answer tokenwire writes has the JSON body `{ error: { code, message } }`, and an
// expected, typed refusal is logged as one (debug), never as a server fault with a stack.

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const upgrade = (headers: Record<string, string>, method = 'GET') =>
  `${method} /ws HTTP/1.1\r\nHost: localhost\r\n${Object.entries({ Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe('error answers Node or ws would write without the JSON body', () => {
  it('an HTTP/1.1 request without Host (RFC 9112 §3.2) is 400 invalid_request with the JSON body', async () => {
    server = await startServer();
    const res = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'invalid_request', message: expect.stringContaining('Host') } });
  });

  it.each([
    ['a bad Sec-WebSocket-Key', upgrade({ 'Sec-WebSocket-Key': 'not-a-nonce' }), 400, 'invalid_request', /Sec-WebSocket-Key/],
    ['no Sec-WebSocket-Key', upgrade({ 'Sec-WebSocket-Key': '' }), 400, 'invalid_request', /Sec-WebSocket-Key/],
    ['an unknown Sec-WebSocket-Version', upgrade({ 'Sec-WebSocket-Version': '7' }), 400, 'invalid_request', /Sec-WebSocket-Version/],
    ['a POST upgrade', upgrade({}, 'POST'), 405, 'method_not_allowed', /GET/],
    ['no Host', upgrade({}).replace('Host: localhost\r\n', ''), 400, 'invalid_request', /Host/],
    // Refused by `ws` itself, after tokenwire's checks.
    ['a malformed Sec-WebSocket-Protocol', upgrade({ 'Sec-WebSocket-Protocol': 'chat,,json' }), 400, 'invalid_request', /Sec-WebSocket-Protocol/],
  ])('a WebSocket upgrade with %s gets its status and the JSON body', async (_, request, status, code, message) => {
    server = await startServer();
    const res = await rawRequest(server.port, request);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.stringMatching(message) } });
    if (/Version/.test(String(message))) expect(res.headers['sec-websocket-version']).toBe('13, 8');
  });
});

describe('typed refusals in the log', () => {
  it('store_unavailable on a WebSocket resume is answered as an error frame and logged at debug, without an error-level line', async () => {
    const logged = captureLog();
    const memory = createMemoryStore({ maxStreamBytes: 1e6, maxTotalBytes: 1e7, maxFrames: 10_000 });
    let away = false;
    // Redis going away mid-read: the store's read fails with the typed error the Redis store throws.
    const store: StreamStore = {
      ...memory,
      get retainedBytes() {
        return memory.retainedBytes;
      },
      read: (id, afterSeq) => (away ? Promise.reject(new TokenwireError('store_unavailable')) : memory.read(id, afterSeq)),
    };
    server = await startServer({ SIM_FIRST_TOKEN_MS: '60000' }, { log: logged.log, store });
    const owner = await connectWs(server.url);
    const other = await connectWs(server.url);
    try {
      owner.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'hi' }] });
      const start = (await owner.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
      away = true;
      other.send({ type: 'resume', streamId: start.streamId, lastSeq: 0, token: start.streamToken });
      expect(await other.waitForFrame((f) => f.type === 'error')).toMatchObject({ code: 'store_unavailable', retryable: true, streamId: start.streamId });
      expect(logged.records.filter((r) => (r.level as number) >= 50)).toEqual([]);
      expect(logged.records.find((r) => r.code === 'store_unavailable')).toMatchObject({ level: 20 });
    } finally {
      owner.close();
      other.close();
    }
  });
});
