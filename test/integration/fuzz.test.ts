import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { httpText, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs } from '../helpers/ws-client.js';

// fast-check throws random bodies, headers and WebSocket frames at a real server:
// no crash, and every answer is either a success or typed with a known code, never `internal`.

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '100000', STREAM_STARTS_PER_MINUTE: '1000000', MAX_STREAMS_PER_CLIENT: '100000', WS_MESSAGES_PER_SECOND: '100000' });
});
afterAll(async () => {
  // Still alive and answering after every run.
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  await server.close();
});

const known = (code: unknown) => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) && code !== 'internal';

/** A success (an SSE stream, a JSON answer) or a typed 4xx/5xx error body; `internal` fails. */
function expectTypedOrOk(response: RawResponse): void {
  expect(response.status, response.raw.slice(0, 300)).toBeGreaterThanOrEqual(200);
  if (response.status < 300) return;
  expect(response.status).toBeLessThan(500);
  const body = JSON.parse(response.body) as { error?: { code?: unknown } };
  expect(known(body.error?.code), response.body).toBe(true);
}

/** JSON-ish values that sometimes look like a chat request. */
const chatish = fc.oneof(
  fc.jsonValue(),
  fc.record({
    messages: fc.oneof(fc.jsonValue(), fc.array(fc.record({ role: fc.oneof(fc.constantFrom('user', 'system', 'assistant'), fc.string()), content: fc.oneof(fc.string(), fc.jsonValue()) }), { maxLength: 3 })),
    options: fc.option(fc.record({ simulate: fc.record({ tokens: fc.integer({ min: -2, max: 3 }) }), temperature: fc.double() }, { requiredKeys: [] }), { nil: undefined }),
    tools: fc.option(fc.array(fc.string(), { maxLength: 3 }), { nil: undefined }),
  }, { requiredKeys: [] }),
);

describe('fuzzing HTTP', () => {
  it('POST /api/chat and /api/approvals/:id with random bodies: typed or ok', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(chatish.map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 200 })), fc.constantFrom('/api/chat', '/api/approvals/call_x'), async (body, path) => {
        const response = await rawRequest(server.port, httpText('POST', path, { 'Content-Type': 'application/json' }, body), { timeoutMs: 3_000 });
        expectTypedOrOk(response);
      }),
      { numRuns: 150 },
    );
  });

  it('random header names, header values of bytes 0x20–0xFF and random paths: typed or ok', async () => {
    const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);
    const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
    const path = fc.oneof(fc.constantFrom('/api/chat', '/api/streams/x', '/metrics', '/ws', '/'), fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 }).map((p) => `/${p}`));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'OPTIONS'), path, fc.dictionary(token, value, { maxKeys: 5 }), async (method, target, headers) => {
        const text = httpText(method, target, headers, method === 'POST' ? '{}' : '');
        const response = await rawRequest(server.port, Buffer.from(text, 'latin1'), { timeoutMs: 3_000 });
        expectTypedOrOk(response);
      }),
      { numRuns: 200 },
    );
  });
});

describe('fuzzing WebSocket frames', () => {
  it('random text, JSON and near-valid frames on one socket: each answered by a typed frame or a stream, the socket stays open', async () => {
    const ws = await connectWs(server.url);
    let sent = 0;
    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.record({
        type: fc.constantFrom('start', 'approve', 'deny', 'cancel', 'resume', 'nope'),
        id: fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue()),
        streamId: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
        callId: fc.string({ maxLength: 70 }),
        lastSeq: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.string()),
        messages: chatish,
      }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (message) => {
        sent++;
        ws.ws.send(message);
      }),
      { numRuns: 300 },
    );
    // A last, valid start proves the socket survived and answers in order.
    ws.send({ type: 'start', id: 'last', messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 2 } } });
    const lastStart = await ws.waitForFrame((f) => f.type === 'start' && f.id === 'last', 10_000);
    await ws.waitForFrame((f) => f.type === 'done' && f.streamId === lastStart.streamId, 10_000);
    const errors = ws.frames.filter((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(known(error.code), JSON.stringify(error)).toBe(true);
    expect(ws.ws.readyState).toBe(ws.ws.OPEN);
    console.log(`fuzz: ${sent} random WebSocket frames, ${errors.length} typed error frames, 0 internal, socket open`);
    ws.close();
  });
});
