import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamAbort, type Hub, type HubOptions } from '../../server/streams/hub.js';
import { createTestHub } from '../helpers/hub.js';

let hub: Hub;
const make = (over: Partial<HubOptions> = {}) => (hub = createTestHub(over));

afterEach(() => {
  hub?.close();
  vi.useRealTimers();
});

describe('stream hub', () => {
  it('numbers frames from the start frame on, stamps the stream id, and serialises once', async () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    stream.append({ type: 'token', text: 'a' });
    const read = await stream.read(-1);
    const records = read.status === 'ok' ? read.records : [];
    expect(records.map((r) => [r.frame.type, r.frame.seq])).toEqual([['start', 0], ['token', 1]]);
    expect(records[1]?.json).toBe(`{"type":"token","streamId":"${stream.id}","seq":1,"text":"a"}`);
    expect(records[0]?.frame).toMatchObject({ approvalToken: stream.streamToken, protocol: 2 });
  });

  it('appendToken (its JSON prefix made by the first token) gives the same bytes as append, live and on read', async () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    const live: string[] = [];
    stream.subscribe((r) => live.push(r.json));
    stream.appendToken('a "quoted"');
    stream.appendToken('b');
    stream.append({ type: 'token', text: 'c' });
    const expected = [
      `{"type":"token","streamId":"${stream.id}","seq":1,"text":"a \\"quoted\\""}`,
      `{"type":"token","streamId":"${stream.id}","seq":2,"text":"b"}`,
      `{"type":"token","streamId":"${stream.id}","seq":3,"text":"c"}`,
    ];
    expect(live).toEqual(expected);
    const read = await stream.read(0);
    expect(read.status === 'ok' ? read.records.map((r) => r.json) : []).toEqual(expected);
    expect(stream.lastSeq).toBe(3);
  });

  it('onAbort: the one listener set hears the abort once with its reason, a later one replaces it, and after the abort it is called at once', () => {
    const stream = make().create({ model: 'm', transport: 'sse' });
    const heard: string[] = [];
    const cause = (reason: unknown) => (reason as StreamAbort).abortCause;
    stream.onAbort(() => heard.push('replaced'));
    stream.onAbort((reason) => heard.push(`first ${cause(reason)}`));
    stream.abort('cancelled');
    stream.abort('shutdown');
    stream.onAbort((reason) => heard.push(`late ${cause(reason)}`));
    expect(heard).toEqual(['first cancelled', 'late cancelled']);
    expect(stream.signal.aborted).toBe(true);

    const cleared = hub.create({ model: 'm', transport: 'sse' });
    cleared.onAbort(() => heard.push('cleared'));
    cleared.onAbort(undefined);
    cleared.abort('client_gone');
    expect(heard).not.toContain('cleared');
    expect((cleared.signal.reason as StreamAbort).abortCause).toBe('client_gone');
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

  it('cuts a resume window longer than maxGraceMs down to it', () => {
    vi.useFakeTimers();
    const stream = make({ maxGraceMs: 1_000 }).create({ model: 'm', transport: 'sse', graceMs: 600_000 });
    stream.attachViewer()();
    vi.advanceTimersByTime(999);
    expect(stream.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(stream.signal.aborted).toBe(true);
  });

  it('never aborts at once when tokenwire dropped the last viewer (slow_consumer): the stream keeps a window to resume in', () => {
    vi.useFakeTimers();
    const stream = make({ droppedGraceMs: 2_000 }).create({ model: 'm', transport: 'sse' });
    stream.attachViewer()('dropped');
    expect(stream.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1_999);
    const back = stream.attachViewer();
    vi.advanceTimersByTime(5_000);
    expect(stream.signal.aborted).toBe(false);
    back('left');
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
