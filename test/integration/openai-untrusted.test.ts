import { describe, expect, it } from 'vitest';
import { loggedFrames } from '../helpers/hub.js';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import type { Reply } from '../helpers/fake-openai.js';
import { useOpenAIHarness } from '../helpers/openai-harness.js';
import { postSse } from '../helpers/sse-client.js';

// The four inputs that broke the openai provider, each served by a loopback
// upstream through the real openai SDK, with the outcome the "Done when" asks for.

const t = useOpenAIHarness();
const useOpenAI = (env: Record<string, string> = {}) => t.start(env);
const chat = (body: unknown = { messages: [{ role: 'user', content: 'Hello' }] }) => postSse(`${t.server.url}/api/chat`, body);
const chunkOf = (fields: Record<string, unknown>) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', ...fields });
const rateLimited = (headers: Record<string, string>) => (reply: Reply) => reply.fail(429, 'Rate limit reached', headers);

describe('the openai provider, retries: bounded by UPSTREAM_MAX_RETRY_WAIT_MS and abortable', () => {
  it('a cancel during a retry-after-ms: 8000 wait ends the stream with done(cancelled) within 200 ms', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '2', UPSTREAM_MAX_RETRY_WAIT_MS: '10000' });
    t.upstream.script(rateLimited({ 'retry-after-ms': '8000' }));
    const session = await chat();
    const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    // The scenario: the client cancels during the 8 s wait that follows the 429 answer.
    await waitFor(() => t.upstream.calls[0]?.open === false, 'the 429 answer');
    expect(session.frames.map((f) => f.type)).toEqual(['start']);
    expect(t.upstream.calls).toHaveLength(1);
    const cancelledAt = performance.now();
    const response = await fetch(`${t.server.url}/api/streams/${start.streamId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${start.approvalToken}` },
    });
    expect(await response.json()).toEqual({ ok: true, cancelled: true });
    const done = await session.waitForFrame((f) => f.type === 'done', 2_000);
    const elapsed = performance.now() - cancelledAt;
    console.log(`cancel during a retry wait: done(cancelled) ${elapsed.toFixed(1)} ms after the DELETE`);
    expect(done).toMatchObject({ reason: 'cancelled' });
    expect(elapsed).toBeLessThan(200);
    expect(t.upstream.calls).toHaveLength(1);
  });

  it('a disconnect during the retry wait ends the stream as fast', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '2', UPSTREAM_MAX_RETRY_WAIT_MS: '10000' });
    t.upstream.script(rateLimited({ 'retry-after-ms': '8000' }));
    const session = await chat();
    const start = await session.waitForFrame((f) => f.type === 'start');
    await waitFor(() => t.upstream.calls[0]?.open === false, 'the 429 answer');
    const leftAt = performance.now();
    session.disconnect();
    const stream = t.server.core.hub.get(start.streamId)!;
    await waitFor(() => stream.done, 'the stream to end', 2_000);
    expect(performance.now() - leftAt).toBeLessThan(200);
    expect((await loggedFrames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('a Retry-After beyond UPSTREAM_MAX_RETRY_WAIT_MS ends the stream at once with upstream_rate_limited and the wait', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '2', UPSTREAM_MAX_RETRY_WAIT_MS: '5000' });
    t.upstream.script(rateLimited({ 'retry-after': '30' }));
    const began = performance.now();
    const frames = await (await chat()).ended;
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(frames.map((f) => f.type)).toEqual(['start', 'error', 'done']);
    expect(frames[1]).toMatchObject({ code: 'upstream_rate_limited', retryable: true });
    expect((frames[1] as ServerFrameOf<'error'>).message).toContain('30000 ms');
    expect(t.upstream.calls).toHaveLength(1);
  });

  it('a Retry-After within the cap is waited for, and the retry streams the answer', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '2', UPSTREAM_MAX_RETRY_WAIT_MS: '5000' });
    t.upstream.script((reply) => {
      if (t.upstream.calls.indexOf(reply.call) === 0) return reply.fail(429, 'slow down', { 'retry-after-ms': '150' });
      reply.text('Hi');
      reply.finish('stop');
    });
    const frames = await (await chat()).ended;
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'done']);
    expect(t.upstream.calls).toHaveLength(2);
  });
});

describe('the openai provider, idle timeout: UPSTREAM_IDLE_TIMEOUT_MS between chunks', () => {
  it('headers and one token, then silence: error upstream_timeout then done(error) within the idle timeout + 1 s', async () => {
    const idleMs = 1_000;
    await useOpenAI({ UPSTREAM_TIMEOUT_MS: '3000', UPSTREAM_IDLE_TIMEOUT_MS: String(idleMs), HEARTBEAT_MS: '200' });
    t.upstream.script(async (reply) => {
      reply.text('Once');
      await reply.call.closed;
    });
    const session = await chat();
    await session.waitForFrame((f) => f.type === 'token');
    const tokenAt = performance.now();
    const frames = await session.ended;
    const elapsed = performance.now() - tokenAt;
    console.log(`stalled upstream: stream ended ${elapsed.toFixed(0)} ms after the last token (idle timeout ${idleMs} ms)`);
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'error', 'done']);
    expect(frames[2]).toMatchObject({ code: 'upstream_timeout', retryable: true });
    expect(frames[3]).toMatchObject({ reason: 'error' });
    expect(elapsed).toBeLessThan(idleMs + 1_000);
    expect(elapsed).toBeGreaterThan(idleMs - 100);
    // The upstream request was aborted, not left open.
    await t.upstream.calls[0]?.closed;
    expect(t.upstream.calls[0]?.closedAt).toBeDefined();
  });
});

describe('the openai provider, chunks of any shape', () => {
  it('a usage-only chunk with no choices key after finish_reason stop gives done(stop) with usage 5/3/8', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '0' });
    t.upstream.script((reply) => {
      reply.chunk(chunkOf({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Bonjour' }, finish_reason: null }] }));
      reply.chunk(chunkOf({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
      reply.write(
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n',
      );
      reply.write('data: [DONE]\n\n');
      reply.end();
    });
    const frames = await (await chat()).ended;
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'done']);
    expect(frames[2]).toMatchObject({ reason: 'stop', usage: { promptTokens: 5, completionTokens: 3, totalTokens: 8 } });
  });

  it('two tool calls both at index 0 with different ids are two calls (Paris, Rome), each waiting for approval', async () => {
    await useOpenAI({ UPSTREAM_MAX_RETRIES: '0' });
    let turn = 0;
    t.upstream.script((reply) => {
      if (turn++ === 0) {
        reply.toolCall(0, { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' });
        reply.toolCall(0, { id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' });
        return reply.finish('tool_calls');
      }
      reply.text('Mild in both.');
      reply.finish('stop');
    });
    const c = await t.connect();
    c.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }], tools: ['get_weather'] });
    const paris = (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    expect(paris).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
    c.send({ type: 'approve', callId: paris.callId });
    const rome = (await c.waitForFrame((f) => f.type === 'tool_call' && f.callId !== paris.callId)) as ServerFrameOf<'tool_call'>;
    expect(rome).toMatchObject({ name: 'get_weather', args: { city: 'Rome' }, approval: 'required' });
    c.send({ type: 'approve', callId: rome.callId });
    expect(await c.waitForFrame((f) => f.type === 'done')).toMatchObject({ reason: 'stop' });
    const sent = t.upstream.calls[1]?.body.messages as { role: string; tool_calls?: unknown[]; tool_call_id?: string }[];
    expect(sent[1]?.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ]);
    expect(sent.slice(2).map((m) => m.tool_call_id)).toEqual(['call_a', 'call_b']);
  });
});
