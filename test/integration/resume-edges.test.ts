import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs, type WsTestClient } from '../helpers/ws-client.js';
import { waitFor } from '../helpers/events.js';

let server: TestServer | undefined;
const sockets: WsTestClient[] = [];
afterEach(async () => {
  for (const c of sockets.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

const body = (tokens: number, grace = 10_000) => ({ messages: [{ role: 'user', content: 'Tell me a story' }], options: { simulate: { tokens }, resumeGraceMs: grace } });
const tokenOf = (frames: ServerFrame[]) => (frames[0] as ServerFrameOf<'start'>).approvalToken!;

/** What a resume from `lastSeq` got, told the same way for both transports. */
interface Answer {
  /** `204`, `frames`, or an error `code`. */
  kind: 'ended' | 'frames' | 'error';
  code?: string;
  frames: ServerFrame[];
  /** The error's `seq` (WebSocket) or `firstSeq` (SSE, stream_expired). */
  firstSeq?: number;
}

async function resumeSse(url: string, streamId: string, token: string, lastSeq: number): Promise<Answer> {
  const res = await fetch(`${url}/api/streams/${streamId}?token=${token}`, { headers: { 'last-event-id': String(lastSeq) } });
  if (res.status === 204) return { kind: 'ended', frames: [] };
  if (res.status !== 200) {
    const error = ((await res.json()) as { error: { code: string; firstSeq?: number } }).error;
    return { kind: 'error', code: error.code, frames: [], ...(error.firstSeq !== undefined ? { firstSeq: error.firstSeq } : {}) };
  }
  await res.body?.cancel();
  return { kind: 'frames', frames: [] };
}

async function resumeWs(url: string, streamId: string, token: string, lastSeq: number): Promise<Answer> {
  const c = await connectWs(url);
  sockets.push(c);
  c.send({ type: 'resume', streamId, lastSeq, token });
  const first = await c.waitForFrame(() => true, 2_000);
  if (first.type === 'error') return { kind: 'error', code: first.code, frames: [first], firstSeq: first.seq + 1 };
  return { kind: first.type === 'done' ? 'ended' : 'frames', frames: [first] };
}

describe.each([
  ['sse', resumeSse],
  ['ws', resumeWs],
] as const)('resume edges over %s (the same on both transports)', (transport, resume) => {
  it('after done, a resume from done’s seq or later is answered at once: SSE 204, WebSocket the done frame again', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
    const frames = await (await postSse(`${server.url}/api/chat`, body(5))).ended;
    const done = frames.at(-1)!;
    for (const lastSeq of [done.seq, done.seq + 100]) {
      const answer = await resume(server.url, done.streamId, tokenOf(frames), lastSeq);
      expect(answer.kind).toBe('ended');
      if (transport === 'ws') expect(answer.frames[0]).toEqual(done);
    }
    // No view is left attached or waiting.
    expect(server.core.hub.get(done.streamId)!.done).toBe(true);
  });

  it('a resume point ahead of a running stream is resume_ahead (400), never a silent skip', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '20' });
    const first = await postSse(`${server.url}/api/chat`, body(10_000));
    await first.waitForFrame((f) => f.type === 'token');
    const answer = await resume(server.url, first.frames[0]!.streamId, tokenOf(first.frames), 999_999);
    expect(answer).toMatchObject({ kind: 'error', code: 'resume_ahead' });
    first.disconnect();
  });

  it('a resume point older than what is kept is stream_expired with the first seq still held', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '100000', STREAM_MAX_FRAMES: '100' });
    const frames = await (await postSse(`${server.url}/api/chat`, body(500))).ended;
    const stream = server.core.hub.get(frames[0]!.streamId)!;
    const read = await stream.read(-1);
    expect(read.status).toBe('expired');
    const firstSeq = read.status === 'expired' ? read.firstSeq : -1;
    const answer = await resume(server.url, stream.id, tokenOf(frames), 3);
    expect(answer).toMatchObject({ kind: 'error', code: 'stream_expired', firstSeq });
    // From the first seq still held it resumes.
    expect((await resume(server.url, stream.id, tokenOf(frames), firstSeq - 1)).kind).not.toBe('error');
  });

  it('a finished stream evicted for the byte budget is stream_expired, not a gap; one forgotten is unknown_stream', async () => {
    // A kept token is its text plus ~24 B (memory-store.ts): 600 + 2,000 of them pass 64 KiB.
    server = await startServer({ SIM_TOKENS_PER_SECOND: '100000', STREAMS_MAX_RETAINED_BYTES: '65536', STREAM_TTL_MS: '300' });
    const old = await (await postSse(`${server.url}/api/chat`, body(600))).ended;
    await (await postSse(`${server.url}/api/chat`, body(2000))).ended;
    const evicted = await resume(server.url, old[0]!.streamId, tokenOf(old), 10);
    expect(evicted).toMatchObject({ kind: 'error', code: 'stream_expired', firstSeq: old.at(-1)!.seq });
    await waitFor(() => !server!.core.hub.get(old[0]!.streamId), 'the stream to be forgotten');
    expect(await resume(server.url, old[0]!.streamId, tokenOf(old), 10)).toMatchObject({ kind: 'error', code: 'unknown_stream' });
  });

  it('a resume with the right token works from any connection, mid-stream', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '200' });
    const first = await postSse(`${server.url}/api/chat`, body(10_000));
    await first.waitForFrame((f) => f.type === 'token');
    const answer = await resume(server.url, first.frames[0]!.streamId, tokenOf(first.frames), 0);
    expect(answer.kind).toBe('frames');
    if (transport === 'ws') expect(answer.frames[0]!.seq).toBe(1);
    first.disconnect();
  });
});

describe('EventSource semantics over SSE', () => {
  it('the resumed body after done is empty with 204, so the view and its timers are gone', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '1000', HEARTBEAT_MS: '20' });
    const frames = await (await postSse(`${server.url}/api/chat`, body(3))).ended;
    const again = await getSse(`${server.url}/api/streams/${frames[0]!.streamId}?token=${tokenOf(frames)}`, { 'last-event-id': String(frames.at(-1)!.seq) });
    expect(again.status).toBe(204);
    await again.ended;
    expect(again.reads).toEqual([]);
  });
});
