import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type UpstreamCall } from '../helpers/fake-openai.js';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { gate } from '../helpers/scripted-provider.js';
import { waitFor } from '../helpers/events.js';

let upstream: FakeOpenAI;
let server: TestServer | undefined;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
});
afterAll(() => upstream.close());
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const chat = (body: unknown = { messages: [{ role: 'user', content: 'Hello' }] }) => postSse(`${server!.url}/api/chat`, body);
const useOpenAI = async () => {
  server = await startServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseURL, MODEL: 'gpt-test', UPSTREAM_MAX_RETRIES: '0' });
};
const lastCall = () => upstream.calls.at(-1) as UpstreamCall;

/** Streams tokens every few milliseconds until the client's socket closes (bounded). */
const endless = (everyMs: number) => async (reply: Parameters<Parameters<FakeOpenAI['script']>[0]>[0]) => {
  for (let i = 0; i < 5_000 && reply.call.open; i++) {
    reply.text(`t${i} `);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  reply.finish();
};

describe('openai provider through the openai SDK, on loopback', () => {
  it('relays tokens as they come: the client has the first before the upstream sends the last', async () => {
    await useOpenAI();
    const release = gate();
    upstream.script(async (reply) => {
      reply.text('Hel');
      await release.promise;
      reply.text('lo');
      reply.finish('stop', { prompt: 3, completion: 2 });
    });
    const session = await chat();
    const first = await session.waitForFrame((f) => f.type === 'token');
    expect(first).toMatchObject({ text: 'Hel' });
    expect(lastCall().tokenWrites).toHaveLength(1);
    release.open();
    const frames = await session.ended;
    expect(frames.filter((f) => f.type === 'token').map((f) => (f as { text: string }).text)).toEqual(['Hel', 'lo']);
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } });
    expect(frames[0]).toMatchObject({ type: 'start', model: 'gpt-test' });
    expect(lastCall().body).toMatchObject({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'Hello' }] });
  });

  it.each([
    [400, 'upstream_rejected', false],
    [401, 'upstream_rejected', false],
    [429, 'upstream_rate_limited', true],
    [500, 'upstream_error', true],
  ])('an HTTP %i before the first token becomes error %s, then done', async (status, code, retryable) => {
    await useOpenAI();
    upstream.script((reply) => reply.fail(status, 'nope: internal detail'));
    const frames = await (await chat()).ended;
    expect(frames.map((f) => f.type)).toEqual(['start', 'error', 'done']);
    expect(frames[1]).toMatchObject({ code, retryable });
    expect(JSON.stringify(frames[1])).not.toContain('internal detail');
    expect(frames[2]).toMatchObject({ reason: 'error' });
  });

  it('a connection reset mid-stream becomes an error frame, then done with reason error', async () => {
    await useOpenAI();
    upstream.script(async (reply) => {
      reply.text('partial ');
      reply.text('answer');
      await new Promise((r) => setImmediate(r));
      reply.reset();
    });
    const frames = await (await chat()).ended;
    expect(frames.map((f) => f.type)).toEqual(['start', 'token', 'token', 'error', 'done']);
    expect(frames[3]).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(frames.filter((f) => f.type === 'done')).toHaveLength(1);
  });

  it('a client that disconnects after five tokens closes the upstream socket within 100 ms, with at most two tokens after', async () => {
    await useOpenAI();
    upstream.script(endless(10));
    const figures: { abortMs: number; tokensAfter: number }[] = [];
    for (let run = 0; run < 5; run++) {
      const session = await chat();
      await waitFor(() => session.frames.filter((f) => f.type === 'token').length >= 5, 'five tokens');
      const call = lastCall();
      const leftAt = performance.now();
      session.disconnect();
      const closedAt = await call.closed;
      figures.push({ abortMs: closedAt - leftAt, tokensAfter: call.tokenWrites.filter((t) => t > leftAt).length });
    }
    console.log(`disconnect-to-upstream-close over 5 runs: ${figures.map((f) => `${f.abortMs.toFixed(2)} ms/${f.tokensAfter} tokens`).join(', ')}`);
    for (const f of figures) {
      expect(f.abortMs).toBeLessThan(100);
      expect(f.tokensAfter).toBeLessThanOrEqual(2);
    }
  });

  it('a client that leaves before the first token also closes the upstream socket', async () => {
    await useOpenAI();
    const never = gate();
    upstream.script(async (reply) => {
      await Promise.race([never.promise, reply.call.closed]);
    });
    const session = await chat();
    await session.waitForFrame((f) => f.type === 'start');
    await waitFor(() => upstream.calls.length > 0 && lastCall().open, 'the upstream request');
    const call = lastCall();
    session.disconnect();
    await call.closed;
    expect(call.closedAt).toBeDefined();
    expect(call.tokenWrites).toHaveLength(0);
  });

  it('exports the tokens-after-disconnect counter and the abort cause as metrics', async () => {
    await useOpenAI();
    upstream.script(endless(2));
    const session = await chat();
    await waitFor(() => session.frames.filter((f) => f.type === 'token').length >= 3, 'three tokens');
    const call = lastCall();
    session.disconnect();
    await call.closed;
    await waitFor(() => server!.core.hub.active().length === 0, 'the stream to end');
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toMatch(/tokenwire_tokens_after_disconnect_total \d+/);
    expect(metrics).toMatch(/tokenwire_upstream_aborts_total\{cause="client_gone"\} 1/);
  });
});
