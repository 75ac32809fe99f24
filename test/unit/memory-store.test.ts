import { describe, expect, it } from 'vitest';
import { createMemoryStore, RECORD_OVERHEAD_BYTES, TOKEN_ENTRY_OVERHEAD_BYTES, type EvictionKind, type MemoryStoreOptions } from '../../server/streams/memory-store.js';
import { tokenJsonPrefix, tokenRecord, type StreamRecord } from '../../server/streams/stream-store.js';

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

  it('a log followed by one, then three followers: each hears every record after it followed, in order, until it unfollows', () => {
    const { store } = make({ onListenerError: () => {} });
    store.open('a');
    const heard: Record<string, number[]> = { one: [], two: [], three: [] };
    const hear = (name: string) => (r: StreamRecord) => void heard[name]?.push(r.frame.seq);
    const one = store.follow('a', hear('one'));
    store.append('a', record('a', 0));
    const two = store.follow('a', hear('two'));
    store.follow('a', (r) => {
      hear('three')(r);
      throw new Error('a failing follower');
    });
    store.append('a', record('a', 1));
    one();
    one();
    store.append('a', record('a', 2));
    two();
    store.append('a', record('a', 3));
    expect(heard).toEqual({ one: [0, 1], two: [1, 2], three: [1, 2, 3] });
    // Following again after everyone left still works, and expire ends it.
    const again: number[] = [];
    store.follow('a', (r) => void again.push(r.frame.seq));
    store.append('a', record('a', 4));
    store.expire('a');
    store.append('a', record('a', 5));
    expect(again).toEqual([4]);
  });

  it('a follower that another one unfollows during an append is not told of that record', () => {
    const { store } = make();
    store.open('a');
    const heard: string[] = [];
    let unfollowLate = () => {};
    store.follow('a', () => {
      heard.push('early');
      unfollowLate();
    });
    unfollowLate = store.follow('a', () => heard.push('late'));
    store.append('a', record('a', 0));
    store.append('a', record('a', 1));
    expect(heard).toEqual(['early', 'early']);
  });

  it('a log opened fresh keeps growing past its first entry', async () => {
    const { store, fill } = make();
    fill('a', 40);
    const read = await store.read('a', -1);
    expect(read.status === 'ok' ? read.records.map((r) => r.frame.seq) : []).toEqual([...Array(40).keys()]);
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

  describe('tokens kept as their text', () => {
    const texts = ['Hello', ' "quoted"', ' line\nbreak', ' tab\t', ' back\\slash', ' \u2028sep', ' 😀', ' é', '', ' </script>'];
    const hubToken = (id: string, seq: number, text: string) => tokenRecord(id, tokenJsonPrefix(id), seq, text);

    it('reads back records equal to the ones appended, JSON byte for byte, beside whole records', async () => {
      const { store } = make();
      const id = 'str_"odd"';
      store.open(id);
      const appended: StreamRecord[] = [];
      const startFrame = { type: 'start', streamId: id, seq: 0 };
      const start = { frame: startFrame, json: JSON.stringify(startFrame) } as unknown as StreamRecord;
      store.append(id, start);
      appended.push(start);
      texts.forEach((text, i) => {
        const r = hubToken(id, i + 1, text);
        store.append(id, r, text);
        appended.push(r);
      });
      const done = record(id, texts.length + 1, 'done');
      store.append(id, done);
      appended.push(done);
      const read = await store.read(id, -1);
      expect(read).toMatchObject({ status: 'ok', lastSeq: texts.length + 1, ended: true });
      if (read.status !== 'ok') throw new Error(read.status);
      expect(read.records).toEqual(appended);
      for (const r of read.records) expect(r.json).toBe(JSON.stringify(r.frame));
      expect(await store.read(id, 4)).toMatchObject({ status: 'ok', records: appended.slice(5) });
    });

    it('hands followers the appended record itself', () => {
      const { store } = make();
      store.open('a');
      const heard: StreamRecord[] = [];
      store.follow('a', (r) => heard.push(r));
      const r = hubToken('a', 0, 'x');
      store.append('a', r, 'x');
      expect(heard[0]).toBe(r);
    });

    it('counts a kept token as its text plus a small overhead, trims and expires to zero', async () => {
      const text = 'y'.repeat(20);
      const perToken = text.length + TOKEN_ENTRY_OVERHEAD_BYTES;
      const { store, evicted } = make({ maxStreamBytes: 3000 * perToken });
      store.open('a');
      for (let seq = 0; seq < 5000; seq++) store.append('a', hubToken('a', seq, text), text);
      expect(store.retainedBytes).toBeLessThanOrEqual(3000 * perToken);
      expect(store.retainedBytes % perToken).toBe(0);
      expect(evicted.length).toBeGreaterThan(0);
      // Past the trim (which also compacts the array), seqs still line up with the frames.
      const read = await store.read('a', 4997);
      expect(read).toMatchObject({ status: 'ok', lastSeq: 4999, records: [{ frame: { seq: 4998 } }, { frame: { seq: 4999 } }] });
      const expired = await store.read('a', 10);
      expect(expired.status).toBe('expired');
      if (expired.status !== 'expired') return;
      const fromFirst = await store.read('a', expired.firstSeq - 1);
      expect(fromFirst.status === 'ok' && fromFirst.records[0]?.frame.seq).toBe(expired.firstSeq);
      store.expire('a');
      expect(store.retainedBytes).toBe(0);
    });

    it('keeps a token whole when its seq is not the next one in the log', async () => {
      const { store } = make();
      store.open('a');
      store.append('a', hubToken('a', 0, 'a'), 'a');
      const gap = hubToken('a', 5, 'b');
      store.append('a', gap, 'b');
      expect(store.retainedBytes).toBe(1 + TOKEN_ENTRY_OVERHEAD_BYTES + gap.json.length + RECORD_OVERHEAD_BYTES);
    });
  });
});

