import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/observability/log.js';
import { connectRedis, type RedisConnections } from '../../server/fleet/redis/connect.js';
import { createRedisStore } from '../../server/fleet/redis/redis-store.js';
import { createSubscriptions } from '../../server/fleet/redis/subscriptions.js';
import { createMemoryStore } from '../../server/streams/memory-store.js';
import type { StreamRecord, StreamStore } from '../../server/streams/stream-store.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// One contract, two stores: what a view relies on holds for the memory store and for
// the Redis store against a real redis-server. For Redis the writer and the reader are two
// stores on their own connections, as two instances are.

interface Budget {
  maxFrames: number;
  maxStreamBytes: number;
}
interface Pair {
  writer: StreamStore;
  reader: StreamStore;
  /** Cuts the reader's live feed for a moment, as a reconnect does; false when the store has none to cut. */
  interrupt(): boolean;
}

const record = (streamId: string, seq: number, type: 'token' | 'done' = 'token'): StreamRecord => {
  const frame = type === 'token' ? { type, streamId, seq, text: 'x'.repeat(100) } : { type, streamId, seq, reason: 'stop' as const };
  return { frame, json: JSON.stringify(frame) };
};
const seqs = (read: Awaited<ReturnType<StreamStore['read']>>) => (read.status === 'ok' ? read.records.map((r) => r.frame.seq) : read.status);

let redis: RedisServer;
const connections: RedisConnections[] = [];
const log = createLogger({ LOG_LEVEL: 'silent' });

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.close()));
  await redis?.stop();
});

async function redisStore(budget: Budget): Promise<{ store: StreamStore; conn: RedisConnections }> {
  const conn = await connectRedis(redis.url, log);
  connections.push(conn);
  return { store: createRedisStore({ redis: conn.commands, subscriptions: createSubscriptions(conn.subscriber, log), ttlMs: 60_000, ...budget }), conn };
}

const stores: [string, (budget: Budget) => Promise<Pair>][] = [
  [
    'memory',
    async (budget) => {
      const store = createMemoryStore({ ...budget, maxTotalBytes: 1 << 30 });
      // Its followers hear of each append before it returns: there is no feed to cut.
      return { writer: store, reader: store, interrupt: () => false };
    },
  ],
  [
    'redis',
    async (budget) => {
      const [writer, reader] = [await redisStore(budget), await redisStore(budget)];
      // The reader's subscriber drops and reconnects about 100 ms later (ioredis' retry).
      return { writer: writer.store, reader: reader.store, interrupt: () => (reader.conn.subscriber.disconnect(true), true) };
    },
  ],
];

let next = 0;
const newId = (name: string) => `${name}-${Date.now()}-${next++}`;

/** Waits until `seen` has `count` entries (a follower on another instance hears of frames a little later). */
async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Waits until `reader` sees `seq` in `id`'s log. The Redis writer pipelines its appends on its
 * own connection, so another instance's read sees them a moment later (views follow first and
 * dedupe by seq for that reason); the memory store sees them at once.
 */
async function landed(reader: StreamStore, id: string, seq: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await reader.read(id, seq - 1);
    if (read.status === 'expired' || (read.status === 'ok' && read.records.some((r) => r.frame.seq === seq))) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for seq ${seq} of ${id} to land`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.each(stores)('%s stream store (the StreamStore contract)', (_name, make) => {
  it('reads after any seq it holds, with the last seq and whether it is the done; unknown for other ids', async () => {
    const { writer, reader } = await make({ maxFrames: 1_000, maxStreamBytes: 1 << 20 });
    const id = newId('read');
    writer.open(id);
    for (let seq = 0; seq < 5; seq++) writer.append(id, record(id, seq));
    await landed(reader, id, 4);
    expect(await reader.read(id, 2)).toMatchObject({ status: 'ok', records: [{ frame: { seq: 3 } }, { frame: { seq: 4 } }], lastSeq: 4, ended: false });
    expect(await reader.read(id, 4)).toMatchObject({ status: 'ok', records: [], lastSeq: 4, ended: false });
    expect(seqs(await reader.read(id, -1))).toEqual([0, 1, 2, 3, 4]);
    writer.append(id, record(id, 5, 'done'));
    writer.finish(id);
    await landed(reader, id, 5);
    expect(await reader.read(id, 5)).toMatchObject({ status: 'ok', records: [], lastSeq: 5, ended: true });
    expect(await reader.read(newId('never'), -1)).toEqual({ status: 'unknown' });
  });

  it('keeps at most its frame budget, and says expired with the first seq still held', async () => {
    const { writer, reader } = await make({ maxFrames: 20, maxStreamBytes: 1 << 20 });
    const id = newId('frames');
    writer.open(id);
    for (let seq = 0; seq < 50; seq++) writer.append(id, record(id, seq));
    await landed(reader, id, 49);
    expect(seqs(await reader.read(id, 47))).toEqual([48, 49]);
    const old = await reader.read(id, 0);
    expect(old.status).toBe('expired');
    const firstSeq = old.status === 'expired' ? old.firstSeq : -1;
    expect(firstSeq).toBeGreaterThan(1);
    expect(seqs(await reader.read(id, firstSeq - 1))).toEqual(Array.from({ length: 50 - firstSeq }, (_, i) => firstSeq + i));
  });

  it('keeps at most its byte budget, newest frames first', async () => {
    const tokenBytes = record('x', 10).json.length;
    const { writer, reader } = await make({ maxFrames: 1_000, maxStreamBytes: 20 * (tokenBytes + 192) });
    const id = newId('bytes');
    writer.open(id);
    for (let seq = 0; seq < 100; seq++) writer.append(id, record(id, seq));
    await landed(reader, id, 99);
    expect(seqs(await reader.read(id, 98))).toEqual([99]);
    expect((await reader.read(id, 10)).status).toBe('expired');
  });

  it('tells a follower every record appended after it followed, in order, until it unfollows', async () => {
    const { writer, reader } = await make({ maxFrames: 1_000, maxStreamBytes: 1 << 20 });
    const id = newId('follow');
    writer.open(id);
    writer.append(id, record(id, 0));
    const seen: number[] = [];
    const unfollow = reader.follow(id, (r) => seen.push(r.frame.seq));
    // The view's order (stream-view.ts): follow, then read, then the live frames; dedupe by seq.
    const read = await reader.read(id, -1);
    const fromRead = read.status === 'ok' ? read.records.map((r) => r.frame.seq) : [];
    for (let seq = 1; seq <= 30; seq++) writer.append(id, record(id, seq));
    await until(() => seen.at(-1) === 30, 'the 30th frame');
    const all = [...new Set([...fromRead, ...seen])].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 31 }, (_, i) => i));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    unfollow();
    writer.append(id, record(id, 31));
    writer.append(id, record(id, 32, 'done'));
    await landed(reader, id, 32);
    const after = await reader.read(id, 30);
    expect(seqs(after)).toEqual([31, 32]);
    expect(seen.at(-1)).toBe(30);
  });

  it('hands a follower each record right after the last; when the next is no longer kept, stream_expired naming the first kept seq and done, never a gap', async () => {
    const { writer, reader, interrupt } = await make({ maxFrames: 20, maxStreamBytes: 1 << 20 });
    const id = newId('gap');
    writer.open(id);
    writer.append(id, record(id, 0));
    const seen: StreamRecord[] = [];
    reader.follow(id, (r) => seen.push(r));
    expect(seqs(await reader.read(id, -1))).toEqual([0]);
    for (let seq = 1; seq <= 5; seq++) writer.append(id, record(id, seq));
    await until(() => seen.at(-1)?.frame.seq === 5, 'the 5th frame');
    // While the live feed is away the log moves far past what it keeps.
    const interrupted = interrupt();
    for (let seq = 6; seq <= 200; seq++) writer.append(id, record(id, seq));
    writer.append(id, record(id, 201, 'done'));
    await until(() => seen.at(-1)?.frame.type === 'done', 'a done');
    const got = seen.map((r) => r.frame.seq);
    // From the first after what the read had (or from it, read twice), each the one after the last.
    expect(got[0]).toBeLessThanOrEqual(1);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => (got[0] as number) + i));
    if (!interrupted) {
      expect(got.at(-1)).toBe(201);
      return;
    }
    const [error, done] = seen.slice(-2).map((r) => r.frame);
    expect([error, done]).toMatchObject([{ type: 'error', code: 'stream_expired', retryable: false }, { type: 'done', reason: 'error' }]);
    const firstKept = Number(/first one kept is seq (\d+)/.exec((error as { message: string }).message)?.[1]);
    expect(firstKept).toBeGreaterThan(6);
    expect((await reader.read(id, firstKept - 1)).status).toBe('ok');
  });

  it('counts the bytes it retains for the logs it writes and gives them back on expire', async () => {
    const { writer } = await make({ maxFrames: 1_000, maxStreamBytes: 1 << 20 });
    const id = newId('bytes-back');
    const before = writer.retainedBytes;
    writer.open(id);
    for (let seq = 0; seq < 10; seq++) writer.append(id, record(id, seq));
    expect(writer.retainedBytes).toBeGreaterThan(before);
    writer.expire(id);
    expect(writer.retainedBytes).toBe(before);
  });
});
