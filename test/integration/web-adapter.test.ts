import { afterEach, describe, expect, it } from 'vitest';
import { createApprovalHandler, createChatHandler, createStreamHandlers } from '../../server/adapters/web.js';
import { loadConfig } from '../../server/config.js';
import { createCore, type Core } from '../../server/core.js';
import { createLogger } from '../../server/log.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { createSseParser } from '../../shared/sse.js';
import { POST } from '../../examples/nextjs/app/api/chat/route.js';
import { waitFor } from '../helpers/events.js';

let core: Core | undefined;
afterEach(async () => {
  await core?.shutdown(100);
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

  it('aborts the generation when the reader cancels the body', async () => {
    const c = makeCore({ SIM_TOKENS_PER_SECOND: '20' });
    const handler = createChatHandler(c);
    const response = await handler(chatRequest({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 1000 } } }));
    const frames = await readFrames(response, (f) => f.some((x) => x.type === 'token'));
    const stream = c.hub.get(frames[0]!.streamId);
    await waitFor(() => stream?.signal.aborted, 'the stream to abort');
    expect(stream?.signal.aborted).toBe(true);
  });

  it('the example Next.js route handler streams a chat', async () => {
    const response = await POST(chatRequest({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 2 } } }));
    const frames = await readFrames(response);
    expect(frames.at(0)?.type).toBe('start');
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
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
