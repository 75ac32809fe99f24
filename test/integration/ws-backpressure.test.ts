import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { recordingTools, startServerWithTools } from '../helpers/recording-tools.js';
import type { TestServer } from '../helpers/server.js';
import { connectWs, framesOf, textOf, type WsTestClient } from '../helpers/ws-client.js';
import { loggedFrames } from '../helpers/hub.js';

let server: TestServer | undefined;
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
});

/** The socket under a `ws` client: pausing it stops reading, so the server's sends back up. */
const tcp = (c: WsTestClient) => (c.ws as unknown as { _socket: Socket })._socket;

/** A metric's current value from the server's own registry, as /metrics would show it. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const value = await (server as TestServer).core.metrics.registry.getSingleMetric(name)?.get();
  const match = value?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/**
 * Fast, but slow enough that the simulated model keeps to its schedule: behind it, it yields
 * only through microtasks and starves the process's I/O (reported to the lead).
 */
const RATE = '25000';

const endless = (id: string, graceMs = 0) => ({
  type: 'start',
  id,
  messages: [{ role: 'user', content: 'Tell me a long story' }],
  options: { simulate: { tokens: 1_000_000 }, ...(graceMs ? { resumeGraceMs: graceMs } : {}) },
});

describe('WebSocket backpressure (a real client that stops reading)', () => {
  it('keeps the bytes queued for a reader that stopped under MAX_BUFFERED_BYTES while the stream keeps producing, then drops it with slow_consumer', async () => {
    const bound = 65_536;
    const running = await startServerWithTools(
      { SIM_TOKENS_PER_SECOND: RATE, MAX_BUFFERED_BYTES: String(bound), STREAM_MAX_FRAMES: '1000000', STREAM_MAX_BYTES: String(1 << 30), STREAMS_MAX_RETAINED_BYTES: String(1 << 30) },
      { tools: recordingTools().registry },
    );
    server = running;
    const c = await connectWs(running.url);
    clients.push(c);
    tcp(c).pause();
    // A grace window keeps the generation going after the view is dropped: the producer never stops.
    c.send(endless('slow', 60_000));
    const stream = await waitFor(() => running.core.hub.active()[0], 'the stream');
    // Measured after every frame the stream produces (the session's listener runs first).
    const samples: number[] = [];
    let peak = 0;
    const unsubscribe = stream.subscribe(() => {
      samples.push(running.ws.maxBufferedBytes());
      peak = Math.max(peak, samples.at(-1) as number);
    });

    // Dropped: the buffer climbed near the bound, then its queue was discarded.
    await waitFor(() => peak > bound * 0.9 && running.ws.maxBufferedBytes() < bound / 2, 'the slow consumer to be dropped', 15_000);
    expect(await metric('tokenwire_slow_consumers_total', { transport: 'ws' })).toBe(1);
    const droppedAt = stream.lastSeq;
    const framesBeforeDrop = samples.length;
    await waitFor(() => stream.lastSeq > droppedAt + 20_000, '20 000 more frames');
    unsubscribe();

    // The buffer grew to the bound while the reader was gone, never past it by more than one
    // frame, and stayed bounded while 20 000 more frames were produced after the drop.
    expect(Math.max(...samples.slice(0, framesBeforeDrop))).toBeGreaterThan(bound * 0.9);
    expect(Math.max(...samples)).toBeLessThanOrEqual(bound + 1_024);
    expect(samples.length).toBeGreaterThan(20_000);
    expect(stream.done).toBe(false);

    tcp(c).resume();
    const error = (await c.waitForFrame((f) => f.type === 'error', 15_000)) as ServerFrameOf<'error'>;
    expect(error).toMatchObject({ streamId: stream.id, code: 'slow_consumer', retryable: true });
    const got = framesOf(c.frames, stream.id);
    const delivered = got.filter((f) => f.type !== 'error');
    // Everything before the error arrived in order; the error names the last seq delivered, so
    // resuming from it loses nothing.
    expect(got.at(-1)).toBe(error);
    expect(error.seq).toBe(delivered.at(-1)?.seq);
    const seqs = delivered.map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    c.send({ type: 'resume', streamId: stream.id, lastSeq: error.seq });
    const next = await c.waitForFrame((f) => f.streamId === stream.id && f.seq > error.seq);
    expect(next.seq).toBe(error.seq + 1);
    c.send({ type: 'cancel', streamId: stream.id });
    await c.waitForFrame((f) => f.type === 'done', 15_000);
  }, 45_000);

  it('coalesces queued tokens for a reader that falls behind: fewer frames, the same text, seqs only rising', async () => {
    const running = await startServerWithTools({ SIM_TOKENS_PER_SECOND: RATE, STREAM_MAX_FRAMES: '1000000', STREAM_MAX_BYTES: String(1 << 30), STREAMS_MAX_RETAINED_BYTES: String(1 << 30) }, { tools: recordingTools().registry });
    server = running;
    const c = await connectWs(running.url);
    clients.push(c);
    tcp(c).pause();
    c.send(endless('c1'));
    // Frames wait in the sender's queue once the socket holds its 64 KiB high-water mark.
    await waitFor(() => running.ws.maxBufferedBytes() > 80 * 1024, 'a queue behind the socket', 15_000);
    const queuedUpTo = running.core.hub.active()[0]?.lastSeq ?? 0;
    tcp(c).resume();
    // Caught up with what was queued while it was not reading.
    const seen = await c.waitForFrame((f) => f.type === 'token' && f.seq >= queuedUpTo, 15_000);
    c.send({ type: 'cancel', streamId: seen.streamId });
    const done = await c.waitForFrame((f) => f.type === 'done', 15_000);
    expect(done).toMatchObject({ reason: 'cancelled' });

    const got = framesOf(c.frames, done.streamId);
    const sent = await loggedFrames(running.core.hub.get(done.streamId));
    const sentTokens = sent.filter((f) => f.type === 'token').length;
    expect(got.filter((f) => f.type === 'token').length).toBeLessThan(sentTokens);
    expect(textOf(got)).toBe(textOf(sent));
    const seqs = got.map((f) => f.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(got.at(-1)?.seq).toBe(sent.at(-1)?.seq);
    expect(await metric('tokenwire_slow_consumers_total', { transport: 'ws' })).toBe(0);
  }, 45_000);
});
