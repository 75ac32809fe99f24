import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The AI SDK and AG-UI routes on two instances sharing one redis-server: a conversation (chat
// id, thread and run ids → stream) started on one is resumed, cancelled and decided on the
// other, as when WORKERS=2 or a round-robin balancer sends the reload elsewhere; and it stays
// its subject's on every instance.

const env = (id: string, redisUrl: string) => ({
  REDIS_URL: redisUrl,
  INSTANCE_ID: id,
  AUTH: 'jwt',
  JWT_SECRET: HS_SECRET,
  SIM_TOKENS_PER_SECOND: '200',
  OWNER_LEASE_MS: '1000',
  APPROVAL_TIMEOUT_MS: '60000',
});

let redis: RedisServer;
let a: TestServer;
let b: TestServer;
const controllers: AbortController[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  a = await startServer(env('a', redis.url));
  b = await startServer(env('b', redis.url));
}, 30_000);
afterAll(async () => {
  for (const controller of controllers) controller.abort();
  await Promise.allSettled([a?.close(), b?.close()]);
  await redis?.stop();
}, 20_000);

const bearer = async (sub: string) => ({ authorization: `Bearer ${await signJwt({ sub })}` });
const json = { 'content-type': 'application/json' };
const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(a.core.hub.get(streamId));
const tokensOf = async (streamId: string) => (await frames(streamId)).flatMap((f) => (f.type === 'token' ? [f.text] : [])).join('');
const chatBody = (id: string, text: string, extra: object = {}) => ({ id, messages: [{ id: 'u-1', role: 'user', parts: [{ type: 'text', text }] }], ...extra });
const runInput = (threadId: string, runId: string, extra: object = {}) => ({ threadId, runId, messages: [{ id: 'u-1', role: 'user', content: 'Tell me a story' }], ...extra });
const resumable = (tokens: number) => ({ options: { resumeGraceMs: 30_000, simulate: { tokens } } });

/** An SSE body's events: `id` when the event had one, `data` as sent. */
function sseEvents(text: string): { id?: string; data: string }[] {
  return text.split('\n\n').flatMap((block) => {
    const lines = block.split('\n');
    const data = lines.find((l) => l.startsWith('data: '));
    if (!data) return [];
    const id = lines.find((l) => l.startsWith('id: '));
    return [{ ...(id ? { id: id.slice(4) } : {}), data: data.slice(6) }];
  });
}
/** The JSON events of an SSE body (`[DONE]` left out). */
const jsonEvents = (text: string) => sseEvents(text).flatMap((e) => (e.data === '[DONE]' ? [] : [JSON.parse(e.data) as Record<string, unknown>]));
const deltas = (events: Record<string, unknown>[], type: string, field: string) => events.flatMap((e) => (e.type === type ? [e[field] as string] : [])).join('');

/**
 * POSTs to `url` and reads its SSE answer until `ids` events carried an id, then drops the
 * connection, as a reloading page does. Returns the stream id and what was read, whole events only.
 */
async function startAndLeave(url: string, body: unknown, headers: Record<string, string>, ids = 5): Promise<{ streamId: string; seen: string; lastId: number }> {
  const controller = new AbortController();
  controllers.push(controller);
  const response = await fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body), signal: controller.signal });
  expect(response.status).toBe(200);
  const streamId = response.headers.get('x-tokenwire-stream-id')!;
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let raw = '';
  while ((raw.match(/^id: /gm) ?? []).length < ids) raw += (await reader.read()).value ?? '';
  controller.abort();
  const seen = raw.slice(0, raw.lastIndexOf('\n\n') + 2);
  const lastId = Number([...seen.matchAll(/^id: (\d+)$/gm)].at(-1)![1]);
  return { streamId, seen, lastId };
}

const doneOf = (streamId: string) => waitFor(async () => (await frames(streamId)).find((f) => f.type === 'done'), `${streamId} done`, 20_000);

describe('AI SDK chats across two instances on Redis', () => {
  it('a chat started on A and left (a reload) resumes on B with the whole answer (GET …/:id/stream replays it)', async () => {
    const alice = await bearer('alice');
    const { streamId } = await startAndLeave(`${a.url}/api/ai-sdk/chat`, chatBody('chat-fleet', 'Tell me a story', resumable(120)), alice);
    expect(a.core.hub.get(streamId)).toBeDefined();
    expect(b.core.hub.get(streamId)).toBeUndefined();

    const resumed = await fetch(`${b.url}/api/ai-sdk/chat/chat-fleet/stream`, { headers: alice });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('x-tokenwire-instance')).toBe('b');
    expect(resumed.headers.get('x-tokenwire-stream-id')).toBe(streamId);
    const text = await resumed.text();
    const events = jsonEvents(text);
    expect(events[0]).toEqual({ type: 'start', messageId: streamId });
    expect(deltas(events, 'text-delta', 'delta')).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).filter((f) => f.type === 'token')).toHaveLength(120);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);

    // Once it is done, B answers as A does: nothing is generating.
    expect((await fetch(`${a.url}/api/ai-sdk/chat/chat-fleet/stream`, { headers: alice })).status).toBe(204);
    expect((await fetch(`${b.url}/api/ai-sdk/chat/chat-fleet/stream`, { headers: alice })).status).toBe(204);
  });

  it('a DELETE on B cancels the chat A runs', async () => {
    const alice = await bearer('alice');
    const { streamId } = await startAndLeave(`${a.url}/api/ai-sdk/chat`, chatBody('chat-cancel', 'Tell me a story', resumable(5_000)), alice, 2);
    const cancel = await fetch(`${b.url}/api/ai-sdk/chat/chat-cancel/stream`, { method: 'DELETE', headers: alice });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({ ok: true, cancelled: true });
    expect(await doneOf(streamId)).toMatchObject({ reason: 'cancelled' });
  });

  it('a tool call shown on A is decided on B, which streams the rest of the message', async () => {
    const alice = await bearer('alice');
    const ask = await fetch(`${a.url}/api/ai-sdk/chat`, {
      method: 'POST',
      headers: { ...json, ...alice },
      body: JSON.stringify(chatBody('chat-tool', "What's the weather in Paris?", { tools: ['get_weather'] })),
    });
    const streamId = ask.headers.get('x-tokenwire-stream-id')!;
    expect(await ask.text()).toContain('"type":"tool-approval-request"');
    const call = (await frames(streamId)).find((f) => f.type === 'tool_call') as Extract<ServerFrame, { type: 'tool_call' }>;
    const answered = chatBody('chat-tool', "What's the weather in Paris?");
    answered.messages.push({
      id: streamId,
      role: 'assistant',
      parts: [{ type: 'tool-get_weather', toolCallId: call.callId, state: 'approval-responded', input: call.args, approval: { id: call.callId, approved: true } } as never],
    });
    const decided = await fetch(`${b.url}/api/ai-sdk/chat`, { method: 'POST', headers: { ...json, ...alice }, body: JSON.stringify(answered) });
    expect(decided.status).toBe(200);
    expect(decided.headers.get('x-tokenwire-stream-id')).toBe(streamId);
    const events = jsonEvents(await decided.text());
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool-output-available', toolCallId: call.callId }));
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    expect(await doneOf(streamId)).toMatchObject({ reason: 'stop' });
  });
});

describe('AG-UI runs across two instances on Redis', () => {
  it('a run started on A, re-run on B with Last-Event-ID, resumes after that seq', async () => {
    const alice = await bearer('alice');
    const input = runInput('thread-fleet', 'run-fleet', { forwardedProps: resumable(120) });
    const { streamId, seen, lastId } = await startAndLeave(`${a.url}/api/ag-ui`, input, { ...alice, accept: 'text/event-stream' }, 10);
    const again = await fetch(`${b.url}/api/ag-ui`, { method: 'POST', headers: { ...json, ...alice, 'last-event-id': String(lastId) }, body: JSON.stringify(input) });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-tokenwire-instance')).toBe('b');
    expect(again.headers.get('x-tokenwire-stream-id')).toBe(streamId);
    const events = jsonEvents(await again.text());
    expect(events[0]).toMatchObject({ type: 'RUN_STARTED', threadId: 'thread-fleet', runId: 'run-fleet' });
    expect(deltas(jsonEvents(seen), 'TEXT_MESSAGE_CONTENT', 'delta') + deltas(events, 'TEXT_MESSAGE_CONTENT', 'delta')).toBe(await tokensOf(streamId));
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', outcome: { type: 'success' } });
  });
});

describe('a conversation stays its subject’s on every instance', () => {
  it('bob on B finds nothing of alice’s chat or run started on A; alice on B does', async () => {
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const chat = await startAndLeave(`${a.url}/api/ai-sdk/chat`, chatBody('chat-owned', 'Tell me a story', resumable(5_000)), alice, 2);
    const input = runInput('thread-owned', 'run-owned', { forwardedProps: resumable(5_000) });
    const run = await startAndLeave(`${a.url}/api/ag-ui`, input, { ...alice, accept: 'text/event-stream' }, 2);

    const peek = await fetch(`${b.url}/api/ai-sdk/chat/chat-owned/stream`, { headers: bob });
    expect(peek.status).toBe(204);
    const cancel = await fetch(`${b.url}/api/ai-sdk/chat/chat-owned/stream`, { method: 'DELETE', headers: bob });
    expect(cancel.status).toBe(404);
    expect((await cancel.json()).error.code).toBe('unknown_stream');
    const rerun = await fetch(`${b.url}/api/ag-ui`, { method: 'POST', headers: { ...json, ...bob, 'last-event-id': '0' }, body: JSON.stringify(input) });
    expect(rerun.status).toBe(404);
    expect((await rerun.json()).error.code).toBe('unknown_stream');
    expect(a.core.hub.get(chat.streamId)!.done).toBe(false);
    expect(a.core.hub.get(run.streamId)!.done).toBe(false);

    // Alice on B: her chat is there to view, and to cancel.
    const hers = await fetch(`${b.url}/api/ai-sdk/chat/chat-owned/stream`, { headers: { ...alice, 'last-event-id': '0' } });
    expect(hers.status).toBe(200);
    expect(hers.headers.get('x-tokenwire-stream-id')).toBe(chat.streamId);
    await hers.body!.cancel();
    const stop = await fetch(`${b.url}/api/ai-sdk/chat/chat-owned/stream`, { method: 'DELETE', headers: alice });
    expect(await stop.json()).toEqual({ ok: true, cancelled: true });
    expect(await doneOf(chat.streamId)).toMatchObject({ reason: 'cancelled' });
    await a.core.hub.get(run.streamId)!.cancel();
  });
});

describe('while Redis does not answer', () => {
  it('the conversation lookups answer 503 store_unavailable within the store deadline', async () => {
    const alice = await bearer('alice');
    redis.pause();
    try {
      const timed = async (request: Promise<Response>) => {
        const started = performance.now();
        const response = await request;
        return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code, ms: performance.now() - started };
      };
      const resume = await timed(fetch(`${b.url}/api/ai-sdk/chat/chat-fleet/stream`, { headers: alice }));
      const cancel = await timed(fetch(`${b.url}/api/ai-sdk/chat/chat-fleet/stream`, { method: 'DELETE', headers: alice }));
      const rerun = await timed(fetch(`${b.url}/api/ag-ui`, { method: 'POST', headers: { ...json, ...alice, 'last-event-id': '3' }, body: JSON.stringify(runInput('thread-fleet', 'run-fleet')) }));
      for (const answer of [resume, cancel, rerun]) {
        expect(answer).toMatchObject({ status: 503, code: 'store_unavailable' });
        // The request deadline (STORE_DEADLINE_MS, 1 s) plus loopback slack.
        expect(answer.ms).toBeLessThan(2_000);
      }
    } finally {
      redis.resume();
    }
  });
});
