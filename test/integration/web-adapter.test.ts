import { afterEach, describe, expect, it } from 'vitest';
import type { ClientLimits } from '../../server/access/client-limits.js';
import { createApprovalHandler, createChatHandler, createStreamHandlers } from '../../server/edge/web/web.js';
import { loadConfig } from '../../server/settings/config.js';
import { createCore, type Core } from '../../server/service/core.js';
import { createLogger } from '../../server/observability/log.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { createSseParser } from '../../shared/sse.js';
import { waitFor } from '../helpers/events.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';

let core: Core | undefined;
afterEach(async () => {
  await core?.control.shutdown(100);
  core = undefined;
});

const makeCore = (env: Record<string, string> = {}) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '1000', ...env });
  return (core = createCore(config, { log: createLogger(config) }));
};
const chatRequest = (body: unknown, init: RequestInit = {}) =>
  new Request('http://example.test/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

async function readFrames(response: Response, until?: (f: ServerFrame[]) => boolean): Promise<ServerFrame[]> {
  const frames: ServerFrame[] = [];
  const parser = createSseParser({
    onEvent: (e) => {
      const d = decodeServerFrame(e.data);
      if (d.ok) frames.push(d.value);
    },
  });
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
    if (until?.(frames)) {
      await reader.cancel();
      break;
    }
  }
  return frames;
}

describe('web-standard adapter', () => {
  it('answers a Request with an SSE Response: start, tokens, one done', async () => {
    const handler = createChatHandler(makeCore());
    const response = await handler(chatRequest({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 5 } } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const frames = await readFrames(response);
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'token', 'token', 'token', 'token', 'done']);
    expect(response.headers.get('x-tokenwire-stream-id')).toBe(frames[0]?.streamId);
  });

  it('answers a bad body with the same typed 400 as the Express route', async () => {
    const handler = createChatHandler(makeCore());
    const response = await handler(chatRequest({ messages: [] }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('names JSON that is not an object as such, and a body that is not JSON as not JSON', async () => {
    const handler = createChatHandler(makeCore());
    const raw = (body: string) => new Request('http://example.test/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const [body, message] of [['null', 'The body must be a JSON object.'], ['"x"', 'The body must be a JSON object.'], ['[1]', 'The body must be a JSON object.'], ['{"messages":', 'The body is not valid JSON.']] as const) {
      const response = await handler(raw(body));
      expect([response.status, await response.json()], body).toEqual([400, { error: { code: 'invalid_request', message } }]);
    }
  });

  it('aborts the generation when the reader cancels the body', async () => {
    const c = makeCore({ SIM_TOKENS_PER_SECOND: '20' });
    const handler = createChatHandler(c);
    const response = await handler(chatRequest({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 1000 } } }));
    const frames = await readFrames(response, (f) => f.some((x) => x.type === 'token'));
    const stream = c.hub.get(frames[0]!.streamId);
    await waitFor(() => stream?.signal.aborted, 'the stream to abort');
    expect(stream?.signal.aborted).toBe(true);
  });

  it('resumes from Last-Event-ID with the stream token: nothing lost, nothing repeated; 204 after done', async () => {
    const c = makeCore({ SIM_TOKENS_PER_SECOND: '500' });
    const chat = createChatHandler(c);
    const streams = createStreamHandlers(c);
    const body = { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 60 }, resumeGraceMs: 10_000 } };
    const whole = await readFrames(await chat(chatRequest(body)));
    const first = await readFrames(await chat(chatRequest(body)), (f) => f.filter((x) => x.type === 'token').length >= 5);
    const start = first[0] as ServerFrameOf<'start'>;
    const url = `http://example.test/api/streams/${start.streamId}`;
    const refused = await streams.GET(new Request(url), start.streamId);
    expect(refused.status).toBe(403);
    const rest = await readFrames(await streams.GET(new Request(`${url}?token=${start.approvalToken}`, { headers: { 'last-event-id': String(first.at(-1)!.seq) } }), start.streamId));
    const text = (frames: ServerFrame[]) => frames.map((f) => (f.type === 'token' ? f.text : '')).join('');
    expect(rest[0]!.seq).toBe(first.at(-1)!.seq + 1);
    expect(text([...first, ...rest])).toBe(text(whole));
    const after = await streams.GET(new Request(`${url}?lastSeq=${rest.at(-1)!.seq}`, { headers: { authorization: `Bearer ${start.approvalToken}` } }), start.streamId);
    expect(after.status).toBe(204);
  });

  it('DELETE cancels at once with the stream token; approvals are decided with it', async () => {
    const c = makeCore({ SIM_TOKENS_PER_SECOND: '50' });
    const chat = createChatHandler(c);
    const frames = await readFrames(await chat(chatRequest({ messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'], options: { resumeGraceMs: 10_000 } })), (f) => f.some((x) => x.type === 'tool_call'));
    const start = frames[0] as ServerFrameOf<'start'>;
    const call = frames.find((f) => f.type === 'tool_call') as ServerFrameOf<'tool_call'>;
    const decide = createApprovalHandler(c);
    const decision = (token: string) =>
      decide(new Request(`http://example.test/api/approvals/${call.callId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'deny', token }) }), call.callId);
    expect((await decision('apr_wrong')).status).toBe(403);
    expect(await (await decision(start.approvalToken!)).json()).toEqual({ callId: call.callId, decision: 'deny', streamId: start.streamId });

    const streams = createStreamHandlers(c);
    const cancelled = await streams.DELETE(new Request(`http://example.test/api/streams/${start.streamId}?token=${start.approvalToken}`, { method: 'DELETE' }), start.streamId);
    expect(cancelled.status).toBe(200);
    const stream = c.hub.get(start.streamId)!;
    expect(stream.signal.aborted).toBe(true);
  });
});

describe('web-standard adapter: authentication and per-client limits', () => {
  const jwtEnv = { AUTH: 'jwt', JWT_SECRET: HS_SECRET, SIM_TOKENS_PER_SECOND: '50' };
  const bearer = async (sub: string) => ({ authorization: `Bearer ${await signJwt({ sub })}` });
  const weather = { messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'], options: { resumeGraceMs: 10_000 } };
  const streamUrl = (id: string) => `http://example.test/api/streams/${id}`;
  const decision = (callId: string, headers: Record<string, string>, body: unknown = { decision: 'approve' }) =>
    new Request(`http://example.test/api/approvals/${callId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

  it('AUTH=jwt: no token (or a bad one) is a typed 401 with WWW-Authenticate on chat, resume, cancel and approvals', async () => {
    const c = makeCore(jwtEnv);
    const chat = createChatHandler(c);
    const streams = createStreamHandlers(c);
    const decide = createApprovalHandler(c);
    const refused = [
      await chat(chatRequest({ messages: [{ role: 'user', content: 'hi' }] })),
      await chat(chatRequest({ messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' } })),
      await streams.GET(new Request(streamUrl('st_x')), 'st_x'),
      await streams.DELETE(new Request(streamUrl('st_x'), { method: 'DELETE' }), 'st_x'),
      await decide(decision('call_x', {}), 'call_x'),
    ];
    for (const response of refused) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await codeOf(response)).toBe('unauthorized');
    }
    expect(c.hub.size).toBe(0);
  });

  it('AUTH=jwt: a stream is bound to its subject; another subject cannot resume, cancel or approve it, even with its stream token', async () => {
    const c = makeCore(jwtEnv);
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const frames = await readFrames(await createChatHandler(c)(chatRequest(weather, { headers: { 'content-type': 'application/json', ...alice } })), (f) => f.some((x) => x.type === 'tool_call'));
    const start = frames[0] as ServerFrameOf<'start'>;
    const call = frames.find((f) => f.type === 'tool_call') as ServerFrameOf<'tool_call'>;
    expect(c.hub.get(start.streamId)?.subject).toBe('alice');
    const streams = createStreamHandlers(c);
    const decide = createApprovalHandler(c);
    const stolen = { ...bob, 'x-stream-token': start.streamToken! };

    expect((await streams.GET(new Request(streamUrl(start.streamId), { headers: stolen }), start.streamId)).status).toBe(403);
    expect((await streams.DELETE(new Request(streamUrl(start.streamId), { method: 'DELETE', headers: stolen }), start.streamId)).status).toBe(403);
    const bobDecides = await decide(decision(call.callId, stolen, { decision: 'approve', token: start.streamToken }), call.callId);
    expect(bobDecides.status).toBe(403);
    expect(await codeOf(bobDecides)).toBe('forbidden');
    expect(c.hub.get(start.streamId)?.signal.aborted).toBe(false);

    // The owner needs no stream token: her subject is the capability; the audit names her.
    expect(await (await decide(decision(call.callId, alice), call.callId)).json()).toEqual({ callId: call.callId, decision: 'approve', streamId: start.streamId });
    const resumed = await readFrames(await streams.GET(new Request(streamUrl(start.streamId), { headers: { ...alice, 'last-event-id': String(call.seq) } }), start.streamId), (f) =>
      f.some((x) => x.type === 'tool_result'),
    );
    expect(resumed[0]!.seq).toBe(call.seq + 1);
    const audited = await waitFor(async () => (await c.audit.forStream(start.streamId))[0], 'the audit record');
    expect(audited).toMatchObject({ callId: call.callId, decision: 'approved', subject: 'alice', transport: 'http' });
    expect((await streams.DELETE(new Request(streamUrl(start.streamId), { method: 'DELETE', headers: alice }), start.streamId)).status).toBe(200);
    expect(c.hub.get(start.streamId)?.signal.aborted).toBe(true);
  });

  it('limits per subject: past MAX_STREAMS_PER_CLIENT a 429 too_many_streams with Retry-After; another subject is served', async () => {
    const c = makeCore({ ...jwtEnv, MAX_STREAMS_PER_CLIENT: '1' });
    const chat = createChatHandler(c);
    const long = { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 10_000 }, resumeGraceMs: 10_000 } };
    const as = async (sub: string) => chat(chatRequest(long, { headers: { 'content-type': 'application/json', ...(await bearer(sub)) } }));
    const first = await as('alice');
    expect(first.status).toBe(200);
    const second = await as('alice');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await codeOf(second)).toBe('too_many_streams');
    expect((await as('bob')).status).toBe(200);
    await first.body?.cancel();
  });

  it('limits anonymous callers by the address clientAddress gives: 429 rate_limited with Retry-After; another address is served', async () => {
    const c = makeCore({ STREAM_STARTS_PER_MINUTE: '2' });
    const chat = createChatHandler(c, { clientAddress: (request) => request.headers.get('x-test-client') ?? undefined });
    const from = (address: string) => chat(chatRequest({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 1 } } }, { headers: { 'content-type': 'application/json', 'x-test-client': address } }));
    for (let i = 0; i < 2; i++) await readFrames(await from('203.0.113.7'));
    const limited = await from('203.0.113.7');
    expect(limited.status).toBe(429);
    expect(await codeOf(limited)).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await from('203.0.113.8')).status).toBe(200);
    expect((c.limits as ClientLimits).open('addr:203.0.113.7')).toBe(0); // the memory limits: no REDIS_URL here
  });
});
