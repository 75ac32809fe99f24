import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../server/log.js';
import { createHub, StreamAbort, type Hub } from '../../server/streams/hub.js';
import { createMemoryLog } from '../../server/streams/memory-log.js';

const log = createLogger({ LOG_LEVEL: 'silent' });
let hub: Hub;
const make = (over: Partial<Parameters<typeof createHub>[0]> = {}) =>
  (hub = createHub({ maxFrames: 100, ttlMs: 1_000, maxStreams: 10, log, ...over }));

afterEach(() => {
  hub?.close();
  vi.useRealTimers();
});

describe('stream hub', () => {
  it('numbers frames from the start frame on, stamps the stream id, and serialises once', () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    stream.append({ type: 'token', text: 'a' });
    const records = stream.readFrom(-1) ?? [];
    expect(records.map((r) => [r.frame.type, r.frame.seq])).toEqual([['start', 0], ['token', 1]]);
    expect(records[1]?.json).toBe(`{"type":"token","streamId":"${stream.id}","seq":1,"text":"a"}`);
    expect(records[0]?.frame).toMatchObject({ approvalToken: stream.approvalToken, protocol: 2 });
  });

  it('accepts exactly one done and ignores frames after it', () => {
    const stream = make().create({ model: 'm', transport: 'ws', clientId: 'c1' });
    const seen: string[] = [];
    stream.subscribe((r) => seen.push(r.frame.type));
    stream.append({ type: 'done', reason: 'stop' });
    expect(stream.append({ type: 'token', text: 'late' })).toBeUndefined();
    expect(stream.append({ type: 'done', reason: 'error' })).toBeUndefined();
    expect(seen).toEqual(['done']);
    expect(stream.done).toBe(true);
  });

  it('replays from any seq it still has, and says when frames were dropped', () => {
    const log10 = createMemoryLog(10);
    for (let seq = 0; seq < 25; seq++) {
      log10.append({ frame: { type: 'token', streamId: 's', seq, text: String(seq) }, json: '' });
    }
    expect(log10.readFrom(23)?.map((r) => r.frame.seq)).toEqual([24]);
    expect(log10.readFrom(0)).toBeUndefined();
  });

  it('aborts at once when the last viewer leaves and no grace window was asked for', () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    const a = stream.attachViewer();
    const b = stream.attachViewer();
    a();
    expect(stream.signal.aborted).toBe(false);
    b();
    expect(stream.signal.aborted).toBe(true);
    expect((stream.signal.reason as StreamAbort).abortCause).toBe('client_gone');
  });

  it('keeps generating through the grace window, and aborts when nobody came back', () => {
    vi.useFakeTimers();
    const stream = make().create({ model: 'm', transport: 'sse', graceMs: 500 });
    stream.attachViewer()();
    vi.advanceTimersByTime(499);
    expect(stream.signal.aborted).toBe(false);
    const back = stream.attachViewer();
    vi.advanceTimersByTime(1_000);
    expect(stream.signal.aborted).toBe(false);
    back();
    vi.advanceTimersByTime(500);
    expect(stream.signal.aborted).toBe(true);
  });

  it('refuses streams past the bound with too_many_streams, and frees a place on done', () => {
    const h = make({ maxStreams: 1 });
    const first = h.create({ model: 'm', transport: 'sse' });
    expect(() => h.create({ model: 'm', transport: 'sse' })).toThrow(expect.objectContaining({ code: 'too_many_streams' }));
    first.append({ type: 'done', reason: 'stop' });
    expect(() => h.create({ model: 'm', transport: 'sse' })).not.toThrow();
  });

  it('forgets a finished stream after its time to live', () => {
    vi.useFakeTimers();
    const h = make({ ttlMs: 1_000 });
    const stream = h.create({ model: 'm', transport: 'sse' });
    stream.append({ type: 'done', reason: 'stop' });
    expect(h.get(stream.id)).toBe(stream);
    vi.advanceTimersByTime(1_001);
    expect(h.get(stream.id)).toBeUndefined();
  });

  it('a failing viewer does not stop the others', () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    const seen: number[] = [];
    stream.subscribe(() => {
      throw new Error('boom');
    });
    stream.subscribe((r) => seen.push(r.frame.seq));
    stream.append({ type: 'token', text: 'x' });
    expect(seen).toEqual([1]);
  });
});
