import { describe, expect, it } from 'vitest';
import { createMemoryStore, RECORD_OVERHEAD_BYTES, type EvictionKind, type MemoryStoreOptions } from '../../server/streams/memory-store.js';
import type { StreamRecord } from '../../server/streams/stream-store.js';

const record = (streamId: string, seq: number, type: 'token' | 'done' = 'token'): StreamRecord => {
  const frame = type === 'token' ? { type, streamId, seq, text: 'x'.repeat(100) } : { type, streamId, seq, reason: 'stop' as const };
  return { frame, json: JSON.stringify(frame) };
};
const bytesOf = (r: StreamRecord) => r.json.length + RECORD_OVERHEAD_BYTES;
const TOKEN_BYTES = bytesOf(record('s', 10));

function make(over: Partial<MemoryStoreOptions> = {}) {
  const evicted: [EvictionKind, string][] = [];
  const store = createMemoryStore({ maxStreamBytes: 1 << 30, maxTotalBytes: 1 << 30, maxFrames: 1_000_000, onEvict: (kind, id) => evicted.push([kind, id]), ...over });
  const fill = (id: string, count: number, done = false) => {
    store.open(id);
    for (let seq = 0; seq < count; seq++) store.append(id, record(id, seq));
    if (done) {
      store.append(id, record(id, count, 'done'));
      store.finish(id);
    }
  };
  return { store, evicted, fill };
}

describe('memory stream store', () => {
  it('counts the bytes it retains and gives them back on expire', () => {
    const { store, fill } = make();
    fill('a', 10);
    expect(store.retainedBytes).toBe([...Array(10).keys()].reduce((sum, seq) => sum + bytesOf(record('a', seq)), 0));
    store.expire('a');
    expect(store.retainedBytes).toBe(0);
  });

  it('trims one log past its byte budget, oldest frames first', async () => {
    const { store, fill, evicted } = make({ maxStreamBytes: 20 * TOKEN_BYTES });
    fill('a', 100);
    expect(store.retainedBytes).toBeLessThanOrEqual(20 * TOKEN_BYTES);
    expect(await store.read('a', 98)).toMatchObject({ status: 'ok', records: [{ frame: { seq: 99 } }] });
    expect((await store.read('a', 10)).status).toBe('expired');
    expect(evicted.every(([kind]) => kind === 'stream_cap')).toBe(true);
  });

  it('past the total budget evicts finished logs oldest first down to their done, before touching a live one', async () => {
    const { store, fill, evicted } = make({ maxTotalBytes: 100 * TOKEN_BYTES });
    fill('old', 40, true);
    fill('newer', 40, true);
    fill('live', 40);
    expect(evicted).toEqual([['finished', 'old']]);
    expect(store.retainedBytes).toBeLessThanOrEqual(100 * TOKEN_BYTES);
    expect(await store.read('old', 5)).toEqual({ status: 'expired', firstSeq: 40 });
    expect(await store.read('old', 39)).toMatchObject({ status: 'ok', records: [{ frame: { type: 'done', seq: 40 } }] });
    expect(await store.read('newer', -1)).toMatchObject({ status: 'ok' });
    expect(await store.read('live', -1)).toMatchObject({ status: 'ok' });
  });

  it('with only live logs left, trims the largest one and keeps its newest frames', async () => {
    const { store, fill, evicted } = make({ maxTotalBytes: 100 * TOKEN_BYTES });
    fill('small', 10);
    fill('large', 95);
    expect(store.retainedBytes).toBeLessThanOrEqual(100 * TOKEN_BYTES);
    expect(evicted.map(([, id]) => id)).not.toContain('small');
    expect(evicted.map(([kind]) => kind)).toContain('live');
    expect(await store.read('small', -1)).toMatchObject({ status: 'ok' });
    expect(await store.read('large', 93)).toMatchObject({ status: 'ok', records: [{ frame: { seq: 94 } }] });
    expect((await store.read('large', -1)).status).toBe('expired');
  });
});
