import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { httpText, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse } from '../helpers/sse-client.js';
import { captureLog } from '../helpers/log-capture.js';
import { connectWs, refusedUpgrade, type WsTestClient } from '../helpers/ws-client.js';

// every kind of bad input gets a typed answer with a stable code (never `internal`),
// and a canary stream on the same transport, running meanwhile, gets every one of its tokens.

const CANARY_TOKENS = 300;
const chat = { messages: [{ role: 'user', content: 'canary' }], options: { simulate: { tokens: CANARY_TOKENS } } };
const chatJson = JSON.stringify(chat);
const json = { 'Content-Type': 'application/json' };

let server: TestServer;
const logged = captureLog();
beforeAll(async () => {
  const env = { SIM_TOKENS_PER_SECOND: '300', WS_MAX_PAYLOAD: '65536', STREAM_STARTS_PER_MINUTE: '10000', WS_MESSAGES_PER_SECOND: '10000' };
  server = await startServer(env, { log: logged.log });
});
afterAll(async () => {
  await server.close();
  // A client's mistake is never a server fault in the log (pino: error is 50).
  expect(logged.records.filter((r) => (r.level as number) >= 50)).toEqual([]);
});

/** A typed HTTP client error: a 4xx with `{ error: { code, message } }`, a known code, not `internal`. */
function expectTyped(response: RawResponse, status: number, code: string): void {
  expect(response.status, response.raw.slice(0, 200)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(Object.hasOwn(ERROR_CODES, body.error.code)).toBe(true);
  expect(body.error.message.length).toBeGreaterThan(0);
}

const expectCanaryComplete = (frames: ServerFrame[]) => {
  const tokens = frames.filter((f) => f.type === 'token');
  expect(tokens).toHaveLength(CANARY_TOKENS);
  expect(tokens.map((f) => f.seq)).toEqual(Array.from({ length: CANARY_TOKENS }, (_, i) => i + 1));
  expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
};

describe('bad HTTP input: what the answer says', () => {
  it('names JSON that is not an object as such, and a body that is not JSON as not JSON', async () => {
    for (const [body, message] of [['null', 'The body must be a JSON object.'], ['"x"', 'The body must be a JSON object.'], ['[1]', 'The body must be a JSON object.'], ['{"messages":', 'The body is not valid JSON.']] as const) {
      const response = await rawRequest(server.port, `POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      expect([response.status, JSON.parse(response.body)], body).toEqual([400, { error: { code: 'invalid_request', message } }]);
    }
    // JSON by type with no body at all (no Content-Length, no chunks): empty, not the wrong type.
    const empty = await rawRequest(server.port, 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n');
    expect([empty.status, JSON.parse(empty.body)]).toEqual([400, { error: { code: 'invalid_request', message: 'The body is empty: send the chat request as JSON.' } }]);
  });
});

describe('bad HTTP input: typed 4xx for each kind, canary SSE stream untouched', () => {
  it('answers every kind with its typed 4xx while the canary completes with every token', async () => {
    const canary = await postSse(`${server.url}/api/chat`, chat);
    const start = (await canary.waitForFrame((f) => f.type === 'start')) as Extract<ServerFrame, { type: 'start' }>;
    const id = start.streamId;
    const post = (path: string, body: string, headers: Record<string, string> = json) => httpText('POST', path, headers, body);
    const kinds: [string, string | Buffer, number, string][] = [
      ['body is not JSON', post('/api/chat', '{"messages":'), 400, 'invalid_request'],
      ['body is an array', post('/api/chat', '[1,2]'), 400, 'invalid_request'],
      ['messages missing', post('/api/chat', '{}'), 400, 'invalid_request'],
      ['messages empty', post('/api/chat', '{"messages":[]}'), 400, 'invalid_request'],
      ['unknown role', post('/api/chat', '{"messages":[{"role":"root","content":"x"}]}'), 400, 'invalid_request'],
      ['message too long', post('/api/chat', JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(40_000) }] })), 400, 'invalid_request'],
      ['unknown field', post('/api/chat', '{"messages":[{"role":"user","content":"x"}],"extra":1}'), 400, 'invalid_request'],
      ['temperature out of range', post('/api/chat', '{"messages":[{"role":"user","content":"x"}],"options":{"temperature":9}}'), 400, 'invalid_request'],
      ['unknown tool', post('/api/chat', '{"messages":[{"role":"user","content":"x"}],"tools":["rm_rf"]}'), 400, 'unknown_tool'],
      ['text/plain body', post('/api/chat', chatJson, { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type'],
      ['no Content-Type', post('/api/chat', chatJson, {}), 415, 'unsupported_media_type'],
      ['body over 1 MB', post('/api/chat', JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] })), 413, 'payload_too_large'],
      ['Content-Encoding: br on a plain body', post('/api/chat', chatJson, { ...json, 'Content-Encoding': 'br' }), 400, 'invalid_request'],
      ['Content-Encoding: gzip on garbage', post('/api/chat', 'garbage!', { ...json, 'Content-Encoding': 'gzip' }), 400, 'invalid_request'],
      ['Content-Encoding unknown', post('/api/chat', chatJson, { ...json, 'Content-Encoding': 'zstd-ish' }), 415, 'unsupported_media_type'],
      ['charset unknown', post('/api/chat', chatJson, { 'Content-Type': 'application/json; charset=klingon' }), 415, 'unsupported_media_type'],
      ['gzip body that is not JSON', Buffer.concat([Buffer.from(`POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${gzipSync('nope').length}\r\n\r\n`), gzipSync('nope')]), 400, 'invalid_request'],
      ['bad percent-encoding in a stream id', httpText('GET', '/api/streams/%E0%A4%A'), 400, 'invalid_request'],
      ['bad percent-encoding in a call id', post('/api/approvals/%ZZ', '{"decision":"approve"}'), 400, 'invalid_request'],
      ['a lone % as the path', httpText('GET', '/%'), 404, 'not_found'],
      ['unknown path', httpText('GET', '/no/such/page'), 404, 'not_found'],
      ['unknown API path', httpText('GET', '/api/nothing'), 404, 'not_found'],
      ['wrong method on /api/chat', httpText('PUT', '/api/chat'), 405, 'method_not_allowed'],
      ['headers over 16 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['bad chunked encoding', 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n', 400, 'invalid_request'],
      ['request line garbage', 'HELLO THERE\r\n\r\n', 400, 'invalid_request'],
      ['header name with a space', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', 400, 'invalid_request'],
      ['Content-Length and Transfer-Encoding both', 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
      ['unknown stream', httpText('GET', '/api/streams/st_nope'), 404, 'unknown_stream'],
      ["another client's stream without its token", httpText('GET', `/api/streams/${id}`), 403, 'forbidden'],
      ['cancel without the token', httpText('DELETE', `/api/streams/${id}`), 403, 'forbidden'],
      ['wrong stream token', httpText('GET', `/api/streams/${id}`, { 'X-Stream-Token': 'apr_wrong' }), 403, 'forbidden'],
      ['audit trail without the token', httpText('GET', `/api/streams/${id}/approvals`), 403, 'forbidden'],
      ['Last-Event-ID not a number', httpText('GET', `/api/streams/${id}`, { 'Last-Event-ID': 'abc' }), 400, 'invalid_request'],
      ['decision for an unknown call', post('/api/approvals/call_nope', '{"decision":"approve"}'), 404, 'unknown_call'],
      ['decision that is not approve/deny', post('/api/approvals/call_nope', '{"decision":"maybe"}'), 400, 'invalid_request'],
    ];
    const answers = await Promise.all(kinds.map(([, text]) => rawRequest(server.port, text)));
    kinds.forEach(([name, , status, code], i) => {
      try {
        expectTyped(answers[i] as RawResponse, status, code);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`);
      }
    });
    // Upgrades the server refuses are typed too.
    const upgrades = await Promise.all([
      refusedUpgrade(server.url, { path: '/not-ws' }),
      refusedUpgrade(server.url, { origin: 'https://evil.example' }),
    ]);
    expect(upgrades.map((u) => [u.status, JSON.parse(u.body).error.code])).toEqual([[404, 'not_found'], [403, 'forbidden']]);

    expectCanaryComplete(await canary.ended);
    console.log(`bad HTTP input matrix: ${kinds.length + upgrades.length} kinds, each a typed 4xx; canary SSE stream: ${CANARY_TOKENS}/${CANARY_TOKENS} tokens`);
    expect(kinds.length + upgrades.length).toBeGreaterThanOrEqual(25);
  });
});

describe('bad WebSocket input: a typed error frame for each kind, the socket stays usable, canary untouched', () => {
  it('answers every kind while the canary on another socket completes with every token', async () => {
    const canarySocket = await connectWs(server.url);
    canarySocket.send({ type: 'start', id: 'canary', ...chat });
    const start = (await canarySocket.waitForFrame((f) => f.type === 'start')) as Extract<ServerFrame, { type: 'start' }>;
    const canaryId = start.streamId;

    const bad = await connectWs(server.url);
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    const kinds: [string, string | Buffer, string][] = [
      ['not JSON', '{"type":', 'invalid_frame'],
      ['binary message', Buffer.from([1, 2, 3]), 'invalid_frame'],
      ['JSON array', '[1,2,3]', 'invalid_frame'],
      ['JSON null', 'null', 'invalid_frame'],
      ['JSON number', '42', 'invalid_frame'],
      ['JSON string', '"start"', 'invalid_frame'],
      ['unknown type', '{"type":"explode"}', 'invalid_frame'],
      ['missing type', '{"id":"x"}', 'invalid_frame'],
      ['start without id', JSON.stringify({ type: 'start', messages: chat.messages }), 'invalid_frame'],
      ['start with a 65-char id', JSON.stringify({ type: 'start', id: 'x'.repeat(65), messages: chat.messages }), 'invalid_frame'],
      ['start with empty messages', JSON.stringify({ type: 'start', id: 'a', messages: [] }), 'invalid_frame'],
      ['start with a bad role', JSON.stringify({ type: 'start', id: 'a', messages: [{ role: 'god', content: 'x' }] }), 'invalid_frame'],
      ['start with an unknown field', JSON.stringify({ type: 'start', id: 'a', messages: chat.messages, admin: true }), 'invalid_frame'],
      ['start with an unknown tool', JSON.stringify({ type: 'start', id: 'a', messages: chat.messages, tools: ['rm_rf'] }), 'unknown_tool'],
      ['start with a __proto__ key', '{"type":"start","id":"a","messages":[{"role":"user","content":"x"}],"__proto__":{"admin":true}}', 'invalid_frame'],
      ['start with a string temperature', JSON.stringify({ type: 'start', id: 'a', messages: chat.messages, options: { temperature: 'hot' } }), 'invalid_frame'],
      ['approve an unknown call', '{"type":"approve","callId":"call_nope"}', 'unknown_call'],
      ['approve without a call id', '{"type":"approve"}', 'invalid_frame'],
      ['deny with a 501-char reason', JSON.stringify({ type: 'deny', callId: 'c', reason: 'x'.repeat(501) }), 'invalid_frame'],
      ['cancel an unknown stream', '{"type":"cancel","streamId":"st_nope"}', 'unknown_stream'],
      ["cancel another socket's stream", JSON.stringify({ type: 'cancel', streamId: canaryId }), 'unknown_stream'],
      ['resume an unknown stream', '{"type":"resume","streamId":"st_nope","lastSeq":0}', 'unknown_stream'],
      ["resume another socket's stream without its token", JSON.stringify({ type: 'resume', streamId: canaryId, lastSeq: 0 }), 'forbidden'],
      ['resume with a wrong token', JSON.stringify({ type: 'resume', streamId: canaryId, lastSeq: 0, token: 'apr_wrong' }), 'forbidden'],
      ['resume with lastSeq -5', JSON.stringify({ type: 'resume', streamId: canaryId, lastSeq: -5 }), 'invalid_frame'],
      ['resume with lastSeq as a string', JSON.stringify({ type: 'resume', streamId: canaryId, lastSeq: '3' }), 'invalid_frame'],
      ['JSON nested 5,000 deep', deep, 'invalid_frame'],
      ['content over 32,000 chars', JSON.stringify({ type: 'start', id: 'a', messages: [{ role: 'user', content: 'x'.repeat(33_000) }] }), 'invalid_frame'],
    ];
    for (const [, message] of kinds) bad.ws.send(message);
    const errors = await bad.waitForCount((f) => f.type === 'error', kinds.length);
    kinds.forEach(([name, , code], i) => {
      const frame = errors[i] as Extract<ServerFrame, { type: 'error' }>;
      expect(frame.code, name).toBe(code);
      expect(frame.code).not.toBe('internal');
    });
    // The socket is still usable: a good start on it streams to its end.
    bad.send({ type: 'start', id: 'after', messages: chat.messages, options: { simulate: { tokens: 5 } } });
    await bad.waitForFrame((f) => f.type === 'done');

    // Protocol-level violations close only the offending socket, with RFC 6455 codes.
    const oversize = await connectWs(server.url);
    oversize.ws.send('x'.repeat(70_000));
    const badUtf8 = await connectWs(server.url);
    badUtf8.ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
    const closes = await Promise.all([oversize.closed, badUtf8.closed]);
    expect(closes.map((c) => c.code)).toEqual([1009, 1007]);

    const canaryFrames = (await canarySocket.waitForFrame((f) => f.type === 'done' && f.streamId === canaryId, 10_000), canarySocket.frames);
    expectCanaryComplete(canaryFrames.filter((f) => f.streamId === canaryId));
    console.log(`bad WebSocket input matrix: ${kinds.length + 2} kinds, each a typed error frame or an RFC 6455 close; canary WebSocket stream: ${CANARY_TOKENS}/${CANARY_TOKENS} tokens`);
    expect(kinds.length + 2).toBeGreaterThanOrEqual(25);
    for (const client of [canarySocket, bad] as WsTestClient[]) client.close();
  });
});
