import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEvent, ModelProvider } from '../../server/models/provider.js';
import { waitFor } from '../helpers/events.js';
import { interopEdges, type ServerStarter } from '../helpers/interop-servers.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';
import type { EdgeServer as TestServer } from '../helpers/interop-servers.js';

// The resume edges of tokenwire's own SSE route (resume-edges.test.ts), on the interop routes:
// they use the same view, so a resume point past the end, ahead of the stream or before what
// is kept gets the same answers, and `-1` means "nothing yet" as it does natively — on the
// memory store and on the Redis store (a real redis-server), whose log is read back over the wire.

let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.stop());
/** The Express edge on the Redis store: the fleet is built from REDIS_URL. */
const onRedis: ServerStarter = (env = {}, parts = {}) => startServer({ ...env, REDIS_URL: redis!.url }, parts);

let server: TestServer | undefined;
const controllers: AbortController[] = [];
afterEach(async () => {
  openGate = undefined;
  for (const controller of controllers.splice(0)) controller.abort();
  await server?.close();
  server = undefined;
});

/**
 * Opened once the start's own response arrived: a model gated on it writes the rest of its
 * tokens only after the start's view is attached, so a small log bound trims the log behind a
 * view that exists (on the Redis store the first read of the log is a round trip away).
 */
let openGate: (() => void) | undefined;

/** A model that says `tokens` tokens (all but the first after the gate opens), then waits until its stream is aborted: a running stream whose log stands still. */
const stallingModel = (tokens: number): ModelProvider => ({
  name: 'simulated',
  defaultModel: 'stalling',
  async *stream(request): AsyncIterable<ModelEvent> {
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    for (let i = 0; i < tokens; i++) {
      yield { type: 'text', text: `t${i} ` };
      if (i === 0) await gate;
    }
    await new Promise((resolve) => request.signal.addEventListener('abort', resolve, { once: true }));
    throw request.signal.reason;
  },
});

interface Protocol {
  /** Starts a conversation `key` and returns its response (the body unread). */
  start(key: string, options: object): Promise<Response>;
  /** Views conversation `key` again, with `Last-Event-ID: lastEventId` when given. */
  resume(key: string, lastEventId?: string): Promise<Response>;
  /** What a resume of a conversation nobody started answers. */
  unknown: { status: number; code?: string };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const controller = new AbortController();
  controllers.push(controller);
  return fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: controller.signal });
};
const header = (lastEventId?: string): Record<string, string> => (lastEventId === undefined ? {} : { 'last-event-id': lastEventId });

const aiSdk: Protocol = {
  start: (key, options) => post('/api/ai-sdk/chat', { id: key, messages: [{ id: 'u-1', role: 'user', parts: [{ type: 'text', text: 'Tell me a story' }] }], options }),
  resume: (key, lastEventId) => fetch(`${server!.url}/api/ai-sdk/chat/${key}/stream`, { headers: header(lastEventId) }),
  // The AI SDK's transport takes 204 as "nothing to resume" (`reconnectToStream` answers null).
  unknown: { status: 204 },
};

const agUi: Protocol = {
  start: (key, options) => post('/api/ag-ui', { threadId: key, runId: 'run-1', messages: [{ id: 'u-1', role: 'user', content: 'Tell me a story' }], forwardedProps: { options } }),
  resume: (key, lastEventId) => post('/api/ag-ui', { threadId: key, runId: 'run-1', messages: [] }, header(lastEventId)),
  unknown: { status: 404, code: 'unknown_stream' },
};

const cases = [...interopEdges, ['express on the Redis store', onRedis] as [string, ServerStarter]].flatMap(([edge, start]) => [
  ['the AI SDK UI message stream', edge, aiSdk, start] as const,
  ['AG-UI', edge, agUi, start] as const,
]);

describe.each(cases)('resume edges over %s, on %s', (_name, _edge, protocol, startEdge) => {
  /** Starts a conversation on the stalling model and waits until its log holds every token. */
  async function stalled(key: string, tokens: number) {
    const response = await protocol.start(key, { resumeGraceMs: 60_000 });
    expect(response.status).toBe(200);
    openGate?.();
    const stream = server!.core.hub.get(response.headers.get('x-tokenwire-stream-id')!)!;
    await response.body!.cancel();
    await waitFor(() => stream.lastSeq >= tokens, `${tokens} tokens`);
    return stream;
  }

  it('after done, a resume from done’s seq or later is 204 with no body', async () => {
    server = await startEdge({ SIM_TOKENS_PER_SECOND: '2000' });
    const first = await protocol.start('conv-done', { simulate: { tokens: 5 } });
    await first.text();
    const stream = server.core.hub.get(first.headers.get('x-tokenwire-stream-id')!)!;
    expect(stream.done).toBe(true);
    for (const lastSeq of [stream.lastSeq, stream.lastSeq + 100]) {
      const again = await protocol.resume('conv-done', String(lastSeq));
      expect(again.status).toBe(204);
      expect(await again.text()).toBe('');
    }
  });

  it('a resume point ahead of a running stream is resume_ahead (400), never a wait for frames that will not come', async () => {
    server = await startEdge({}, { provider: stallingModel(20) });
    const stream = await stalled('conv-ahead', 20);
    const answer = await protocol.resume('conv-ahead', '999999');
    expect(answer.status).toBe(400);
    expect((await answer.json()).error).toMatchObject({ code: 'resume_ahead' });
    expect(stream.done).toBe(false);
  });

  it('a resume point older than what is kept is stream_expired (410) with the first seq still held; so is a later one, since the view rebuilds from the start', async () => {
    server = await startEdge({ STREAM_MAX_FRAMES: '100' }, { provider: stallingModel(150) });
    const stream = await stalled('conv-expired', 150);
    const read = await stream.read(-1);
    expect(read.status).toBe('expired');
    const firstSeq = read.status === 'expired' ? read.firstSeq : -1;
    for (const lastEventId of ['3', String(firstSeq - 1)]) {
      const answer = await protocol.resume('conv-expired', lastEventId);
      expect(answer.status).toBe(410);
      expect((await answer.json()).error).toMatchObject({ code: 'stream_expired', firstSeq });
    }
  });

  it('a conversation nobody started answers as the protocol says nothing is there', async () => {
    server = await startEdge();
    const answer = await protocol.resume('conv-never', '3');
    expect(answer.status).toBe(protocol.unknown.status);
    if (protocol.unknown.code) expect((await answer.json()).error.code).toBe(protocol.unknown.code);
  });

  it('reads Last-Event-ID as the native routes do: -1 is "nothing yet", a non-number is invalid_request', async () => {
    server = await startEdge({}, { provider: stallingModel(3) });
    const stream = await stalled('conv-minus-one', 3);
    const bad = await protocol.resume('conv-minus-one', 'x1');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
    const all = await protocol.resume('conv-minus-one', '-1');
    expect(all.status).toBe(200);
    expect(all.headers.get('x-tokenwire-stream-id')).toBe(stream.id);
    const reader = all.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('t2 ')) text += (await reader.read()).value ?? '';
    expect(text).toContain('t0 ');
    await reader.cancel();
  });
});
