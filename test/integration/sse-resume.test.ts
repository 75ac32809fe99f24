import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/events.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const body = (options: Record<string, unknown>) => ({ messages: [{ role: 'user', content: 'Tell me a story' }], options: { simulate: { tokens: 40 }, ...options } });
const textOf = (frames: ServerFrame[]) => frames.map((f) => (f.type === 'token' ? f.text : '')).join('');
const tokenOf = (frames: ServerFrame[]) => (frames[0] as Extract<ServerFrame, { type: 'start' }>).approvalToken as string;

describe('SSE resume and cancel on /api/streams/:id', () => {
  it('resumes from Last-Event-ID within the grace window: no frame lost, none repeated', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '100' });
    const whole = textOf(await (await postSse(`${server.url}/api/chat`, body({}))).ended);

    const first = await postSse(`${server.url}/api/chat`, body({ resumeGraceMs: 10_000 }));
    await waitFor(() => first.frames.filter((f) => f.type === 'token').length >= 5, 'five tokens');
    first.disconnect();
    const seen = [...first.frames];
    const lastSeq = seen.at(-1)!.seq;
    const stream = server.core.hub.get(seen[0]!.streamId)!;
    await waitFor(() => stream.lastSeq > lastSeq + 3, 'the model to go on without a viewer');
    expect(stream.signal.aborted).toBe(false);

    const again = await getSse(`${server.url}/api/streams/${stream.id}?token=${tokenOf(seen)}`, { 'last-event-id': String(lastSeq) });
    const rest = await again.ended;
    expect(again.status).toBe(200);
    expect(rest[0]!.seq).toBe(lastSeq + 1);
    expect(rest.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(textOf([...seen, ...rest])).toBe(whole);
  });

  it('without a grace window the stream is cancelled on disconnect, and a resume reads up to that done', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '50' });
    const first = await postSse(`${server.url}/api/chat`, body({ simulate: { tokens: 1000 } }));
    await first.waitForFrame((f) => f.type === 'token');
    first.disconnect();
    const stream = server.core.hub.get(first.frames[0]!.streamId)!;
    await waitFor(() => stream.done, 'the stream to end');
    const again = await getSse(`${server.url}/api/streams/${stream.id}`, { authorization: `Bearer ${tokenOf(first.frames)}`, 'last-event-id': '0' });
    const rest = await again.ended;
    expect(rest.at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('refuses a resume without the stream token (403), of an unknown stream (404), from a bad Last-Event-ID (400)', async () => {
    server = await startServer();
    const first = await postSse(`${server.url}/api/chat`, body({ simulate: { tokens: 2 } }));
    const frames = await first.ended;
    const id = frames[0]!.streamId;
    const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
    const noToken = await fetch(`${server.url}/api/streams/${id}`);
    expect([noToken.status, await codeOf(noToken)]).toEqual([403, 'forbidden']);
    const wrong = await fetch(`${server.url}/api/streams/${id}?token=apr_wrong`);
    expect(wrong.status).toBe(403);
    const unknown = await fetch(`${server.url}/api/streams/st_nope?token=x`);
    expect([unknown.status, await codeOf(unknown)]).toEqual([404, 'unknown_stream']);
    const bad = await fetch(`${server.url}/api/streams/${id}?token=${tokenOf(frames)}`, { headers: { 'last-event-id': 'abc' } });
    expect([bad.status, await codeOf(bad)]).toEqual([400, 'invalid_request']);
  });

  it('DELETE with the stream token cancels it: the model stops and the stream ends with done cancelled', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '50' });
    const session = await postSse(`${server.url}/api/chat`, body({ simulate: { tokens: 1000 } }));
    await session.waitForFrame((f) => f.type === 'token');
    const id = session.frames[0]!.streamId;
    const refused = await fetch(`${server.url}/api/streams/${id}`, { method: 'DELETE' });
    expect(refused.status).toBe(403);
    const res = await fetch(`${server.url}/api/streams/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${tokenOf(session.frames)}` } });
    expect(await res.json()).toEqual({ ok: true, cancelled: true });
    const frames = await session.ended;
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(server.core.hub.get(id)!.signal.aborted).toBe(true);
  });
});
