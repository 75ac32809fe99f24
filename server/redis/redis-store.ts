import type { Redis } from 'ioredis';
import { TokenwireError } from '../../shared/errors.js';
import type { ServerFrame } from '../../shared/protocol.js';
import type { StoreListener, StoreRead, StreamRecord, StreamStore } from '../streams/stream-store.js';
import { CHANNELS, entryId, KEYS, seqOf } from './keys.js';
import type { Subscriptions } from './subscriptions.js';

export interface RedisStoreOptions {
  redis: Redis;
  subscriptions: Subscriptions;
  /** Frames one stream's log keeps (XADD MAXLEN). */
  maxFrames: number;
  /** Bytes of JSON one stream's log keeps; past it the oldest frames are trimmed (XTRIM MINID). */
  maxStreamBytes: number;
  /** How long a finished log is kept (STREAM_TTL_MS); a running one is kept this long past its owner's last refresh. */
  ttlMs: number;
  /** An append Redis refused: another writer took the log (`owner_lost`), or Redis failed. */
  onAppendError?: (streamId: string, error: unknown) => void;
  onListenerError?: (error: unknown, streamId: string) => void;
}

/** The Redis store plus what only the owner of logs needs. */
export interface RedisStore extends StreamStore {
  /** Pushes back the expiry of running logs this process writes (called with its lease renewal). */
  refresh(now: number): void;
}

/** A log this process writes: its local followers and its byte budget. */
interface OwnedLog {
  listeners: Set<StoreListener>;
  /** JSON bytes of the frames still in the log, oldest first, with their seqs. */
  sizes: number[];
  seqs: number[];
  head: number;
  bytes: number;
  expiresAt: number;
  finished: boolean;
}

/** A log another process writes, followed through its frames channel. */
interface FollowedLog {
  listeners: Set<StoreListener>;
  /** The highest seq handed to the listeners; -1 before the first. */
  lastSeq: number;
  /** Messages wait here while a gap is read back, so order holds. */
  chain: Promise<void>;
  ready: Promise<void>;
  stop(): void;
}

const DONE_PREFIX = '{"type":"done"';
const toRecord = (json: string): StreamRecord => ({ frame: JSON.parse(json) as ServerFrame, json });
type Entries = [id: string, fields: string[]][];
const recordsOf = (entries: Entries): StreamRecord[] => entries.map(([, fields]) => toRecord(fields[1] as string));

/**
 * Streams' logs in Redis (issue 10): one Redis Stream per generation, the entry id made from
 * the frame's seq, capped by the frame and byte budgets, expired after the stream's TTL. Each
 * append is XADD + PUBLISH of the frame's JSON; with auto-pipelining everything appended in
 * one event-loop turn goes out in one write. Followers in the writing process hear of a frame
 * at once; followers elsewhere through one subscriber connection per process, and after a
 * reconnect they read back what they missed, so a live view has no gap and no duplicate.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { redis, subscriptions } = options;
  const owned = new Map<string, OwnedLog>();
  const followed = new Map<string, FollowedLog>();
  let retained = 0;
  const liveTtlMs = Math.max(options.ttlMs, 60_000);

  function notify(listeners: Set<StoreListener>, record: StreamRecord, streamId: string): void {
    for (const listener of listeners) {
      try {
        listener(record);
      } catch (error) {
        options.onListenerError?.(error, streamId);
      }
    }
  }

  /** Drops the oldest sizes until the log is within its byte budget; returns the first seq kept, if any were dropped. */
  function trimBytes(log: OwnedLog): number | undefined {
    if (log.bytes <= options.maxStreamBytes) return undefined;
    const target = options.maxStreamBytes * 0.9;
    while (log.seqs.length - log.head > 1 && log.bytes > target) {
      log.bytes -= log.sizes[log.head] as number;
      retained -= log.sizes[log.head] as number;
      log.head++;
    }
    if (log.head > 1024) {
      log.sizes = log.sizes.slice(log.head);
      log.seqs = log.seqs.slice(log.head);
      log.head = 0;
    }
    return log.seqs[log.head];
  }

  /** Hands a followed log's message on in order; a jump in seq is first filled from the log. */
  function onFrameMessage(streamId: string, log: FollowedLog, json: string): void {
    log.chain = log.chain.then(async () => {
      const record = toRecord(json);
      const seq = record.frame.seq;
      if (log.lastSeq >= 0 && seq <= log.lastSeq) return;
      if (log.lastSeq >= 0 && seq > log.lastSeq + 1) await catchUp(streamId, log, seq - 1);
      if (seq <= log.lastSeq) return;
      log.lastSeq = seq;
      notify(log.listeners, record, streamId);
    });
  }

  /** Reads the frames after the last one handed on (up to `untilSeq`) and hands them on. */
  async function catchUp(streamId: string, log: FollowedLog, untilSeq?: number): Promise<void> {
    if (log.lastSeq < 0) return;
    let entries: Entries;
    try {
      entries = await redis.xrange(KEYS.log(streamId), entryId(log.lastSeq + 1), untilSeq === undefined ? '+' : entryId(untilSeq));
    } catch {
      return;
    }
    for (const record of recordsOf(entries)) {
      if (record.frame.seq <= log.lastSeq) continue;
      log.lastSeq = record.frame.seq;
      notify(log.listeners, record, streamId);
    }
  }

  subscriptions.onReconnect(() => {
    for (const [streamId, log] of followed) log.chain = log.chain.then(() => catchUp(streamId, log));
  });

  return {
    open(streamId) {
      if (owned.has(streamId)) return;
      owned.set(streamId, { listeners: new Set(), sizes: [], seqs: [], head: 0, bytes: 0, expiresAt: 0, finished: false });
    },
    append(streamId, record) {
      const log = owned.get(streamId);
      if (!log) return;
      const key = KEYS.log(streamId);
      const { seq } = record.frame;
      redis.xadd(key, 'MAXLEN', options.maxFrames, entryId(seq), 'f', record.json).catch((error: unknown) => options.onAppendError?.(streamId, error));
      redis.publish(CHANNELS.frames(streamId), record.json).catch(() => {});
      if (log.expiresAt === 0) {
        log.expiresAt = Date.now() + liveTtlMs;
        redis.pexpire(key, liveTtlMs).catch(() => {});
      }
      log.sizes.push(record.json.length);
      log.seqs.push(seq);
      log.bytes += record.json.length;
      retained += record.json.length;
      if (log.seqs.length - log.head > options.maxFrames) {
        retained -= log.sizes[log.head] as number;
        log.bytes -= log.sizes[log.head] as number;
        log.head++;
      }
      const firstKept = trimBytes(log);
      if (firstKept !== undefined) redis.xtrim(key, 'MINID', entryId(firstKept)).catch(() => {});
      notify(log.listeners, record, streamId);
    },
    async read(streamId, afterSeq): Promise<StoreRead> {
      // A view waits on this read: while Redis is away, fail at once with a typed, retryable
      // error instead of queueing the command until it returns.
      if (redis.status !== 'ready') throw new TokenwireError('store_unavailable');
      const key = KEYS.log(streamId);
      const following = followed.get(streamId);
      // Read only once the live feed is on, so a frame published meanwhile is not lost.
      if (following) await following.ready;
      const [after, last, first] = await Promise.all([
        redis.xrange(key, entryId(afterSeq + 1), '+'),
        redis.xrevrange(key, '+', '-', 'COUNT', 1),
        redis.xrange(key, '-', '+', 'COUNT', 1),
      ]);
      const lastEntry = last[0];
      const firstEntry = first[0];
      if (!lastEntry || !firstEntry) return { status: 'unknown' };
      const firstSeq = seqOf(firstEntry[0]);
      if (afterSeq + 1 < firstSeq) return { status: 'expired', firstSeq };
      const records = recordsOf(after);
      // A hole (frames Redis lost while away) is never handed on as a gap: resume after it.
      for (let i = 0; i < records.length; i++) {
        const seq = (records[i] as StreamRecord).frame.seq;
        if (seq !== afterSeq + 1 + i) return { status: 'expired', firstSeq: seq };
      }
      return { status: 'ok', records, lastSeq: seqOf(lastEntry[0]), ended: (lastEntry[1][1] ?? '').startsWith(DONE_PREFIX) };
    },
    follow(streamId, listener) {
      const mine = owned.get(streamId);
      if (mine) {
        mine.listeners.add(listener);
        return () => mine.listeners.delete(listener);
      }
      let log = followed.get(streamId);
      if (!log) {
        const fresh: FollowedLog = { listeners: new Set(), lastSeq: -1, chain: Promise.resolve(), ready: Promise.resolve(), stop: () => {} };
        const subscription = subscriptions.listen(CHANNELS.frames(streamId), (json) => onFrameMessage(streamId, fresh, json));
        fresh.ready = subscription.ready;
        fresh.stop = subscription.stop;
        followed.set(streamId, fresh);
        log = fresh;
      }
      const current = log;
      current.listeners.add(listener);
      return () => {
        if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
        current.stop();
        if (followed.get(streamId) === current) followed.delete(streamId);
      };
    },
    finish(streamId) {
      const log = owned.get(streamId);
      if (log) log.finished = true;
      redis.pexpire(KEYS.log(streamId), options.ttlMs).catch(() => {});
    },
    expire(streamId) {
      const log = owned.get(streamId);
      if (!log) return;
      retained -= log.bytes;
      owned.delete(streamId);
    },
    refresh(now) {
      for (const [streamId, log] of owned) {
        if (log.finished || log.expiresAt === 0 || log.expiresAt - now > liveTtlMs / 2) continue;
        log.expiresAt = now + liveTtlMs;
        redis.pexpire(KEYS.log(streamId), liveTtlMs).catch(() => {});
      }
    },
    get retainedBytes() {
      return retained;
    },
  };
}
