// Over 300 lines on purpose: the log on Redis with its append, follow and contiguity paths, which must be read together.
import type { Redis } from 'ioredis';
import { TokenwireError } from '../../../shared/errors.js';
import type { ServerFrame } from '../../../shared/protocol.js';
import type { StoreListener, StoreRead, StreamRecord, StreamStore } from '../../streams/stream-store.js';
import { CHANNELS, entryId, KEYS, seqOf } from './keys.js';
import { isOutOfMemory } from './store-health.js';
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
  /** Runs the Redis work a read waits on, within the store's deadline (store-health.ts); by default, as is. */
  guard?: <T>(work: () => Promise<T>) => Promise<T>;
  /** An append Redis refused because another writer took the log (`owner_lost`), or for another reason than memory. */
  onAppendError?: (streamId: string, error: unknown) => void;
  /**
   * Redis refused a frame for memory: this log keeps that frame and every later one in the
   * process, serves them on reads here, and writes them once Redis takes writes (`onSynced`).
   */
  onRefused?: (streamId: string, seq: number) => void;
  /** The frames Redis had refused are in the log now. */
  onSynced?: (streamId: string) => void;
  onListenerError?: (error: unknown, streamId: string) => void;
}

/** The Redis store plus what only the owner of logs needs. */
export interface RedisStore extends StreamStore {
  /** Pushes back the expiry of running logs this process writes, and writes what Redis refused (called with its lease renewal). */
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
  /** The frame Redis refused for memory and every later one, oldest first, until they are written. */
  unsynced: StreamRecord[] | undefined;
  syncing: boolean;
}

/** A log another process writes, followed through its frames channel. */
interface FollowedLog {
  listeners: Set<StoreListener>;
  /** The highest seq handed to the listeners, from the log's last seq when the subscription began; -1: none. */
  lastSeq: number;
  /** The highest seq a read handed to a view of it: a view's own last seq is never above max(lastSeq, readSeq). */
  readSeq: number;
  /** Messages wait here (behind the first read of the log's end, then while a gap is read back), so order holds. */
  chain: Promise<void>;
  /** Resolves once the subscription is confirmed and the log's last seq read. */
  ready: Promise<void>;
  /** Ended (a gap, or Redis failing): it hands on nothing more, and a read of it fails. */
  closed: boolean;
  stop(): void;
}

const DONE_PREFIX = '{"type":"done"';
const toRecord = (json: string): StreamRecord => ({ frame: JSON.parse(json) as ServerFrame, json });
const recordOf = (frame: ServerFrame): StreamRecord => ({ frame, json: JSON.stringify(frame) });
type Entries = [id: string, fields: string[]][];
const recordsOf = (entries: Entries): StreamRecord[] => entries.map(([, fields]) => toRecord(fields[1] as string));
/** XADD's answer to an id at or below the log's last: the frame is there already, or another writer ended the log. */
const isBehindTop = (error: unknown) => error instanceof Error && error.message.includes('equal or smaller than the target stream top item');

/**
 * Streams' logs in Redis: one Redis Stream per generation, the entry id made from the frame's
 * seq, capped by the frame and byte budgets, expired after the stream's TTL. Each append is
 * XADD + PUBLISH of the frame's JSON; with auto-pipelining everything appended in one
 * event-loop turn goes out in one write. Followers in the writing process hear of a frame at
 * once; followers elsewhere through one subscriber connection per process. Every frame a
 * follower hands on is the one after the last: a jump is read back from the log, and a frame the
 * log no longer has ends the followers' views with `stream_expired` naming the first one kept,
 * never a gap.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { redis, subscriptions } = options;
  const owned = new Map<string, OwnedLog>();
  const followed = new Map<string, FollowedLog>();
  let retained = 0;
  const liveTtlMs = Math.max(options.ttlMs, 60_000);
  const guard =
    options.guard ??
    (<T>(work: () => Promise<T>): Promise<T> => {
      // A view waits on this read: while Redis is away, fail at once with a typed, retryable
      // error instead of queueing the command until it returns.
      if (redis.status !== 'ready') return Promise.reject(new TokenwireError('store_unavailable'));
      return work();
    });

  function notify(listeners: Iterable<StoreListener>, record: StreamRecord, streamId: string): void {
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

  /** Keeps a frame Redis refused for memory (in seq order), and says so once per log. */
  function keepRefused(streamId: string, log: OwnedLog, record: StreamRecord): void {
    if (!log.unsynced) {
      log.unsynced = [];
      options.onRefused?.(streamId, record.frame.seq);
    }
    const at = log.unsynced.findIndex((kept) => kept.frame.seq >= record.frame.seq);
    if (at === -1) log.unsynced.push(record);
    else if (log.unsynced[at]?.frame.seq !== record.frame.seq) log.unsynced.splice(at, 0, record);
  }

  /** Writes a log's refused frames in order, once Redis takes them; stops at the first refusal (the next beat tries again). */
  async function sync(streamId: string, log: OwnedLog): Promise<void> {
    const key = KEYS.log(streamId);
    const unsynced = log.unsynced as StreamRecord[];
    while (unsynced.length > 0) {
      const record = unsynced[0] as StreamRecord;
      try {
        await redis.xadd(key, 'MAXLEN', options.maxFrames, entryId(record.frame.seq), 'f', record.json);
      } catch (error) {
        if (!isBehindTop(error)) return;
      }
      unsynced.shift();
      // Views elsewhere that opened meanwhile wait for it live; they drop what they have by seq.
      redis.publish(CHANNELS.frames(streamId), record.json).catch(() => {});
    }
    log.unsynced = undefined;
    redis.pexpire(key, log.finished ? options.ttlMs : liveTtlMs).catch(() => {});
    options.onSynced?.(streamId);
  }

  /** Ends a followed log's views with an `error` and `done` of their own, numbered after anything a view of it has, and lets the log go. */
  function close(streamId: string, log: FollowedLog, error: TokenwireError): void {
    if (log.closed) return;
    log.closed = true;
    const after = Math.max(log.lastSeq, log.readSeq);
    const records = [
      recordOf({ type: 'error', streamId, seq: after + 1, code: error.code, message: error.message, retryable: error.retryable }),
      recordOf({ type: 'done', streamId, seq: after + 2, reason: 'error' }),
    ];
    const listeners = [...log.listeners];
    for (const record of records) notify(listeners, record, streamId);
    log.listeners.clear();
    log.stop();
    if (followed.get(streamId) === log) followed.delete(streamId);
  }

  const expired = (streamId: string, log: FollowedLog, firstKept: number) =>
    close(streamId, log, new TokenwireError('stream_expired', `The frames after seq ${log.lastSeq} are no longer kept; the first one kept is seq ${firstKept}.`));

  /** Hands a followed log's message on in order; a jump in seq is first filled from the log. */
  function onFrameMessage(streamId: string, log: FollowedLog, json: string): void {
    log.chain = log.chain
      .then(async () => {
        if (log.closed) return;
        const record = toRecord(json);
        const seq = record.frame.seq;
        if (seq <= log.lastSeq) return;
        if (seq > log.lastSeq + 1 && !(await catchUp(streamId, log, seq - 1))) return;
        log.lastSeq = seq;
        notify(log.listeners, record, streamId);
      })
      // A message that is not a frame must not stop the ones after it.
      .catch((error: unknown) => options.onListenerError?.(error, streamId));
  }

  /**
   * Reads the frames after the last one handed on (up to `untilSeq`) and hands them on, each
   * the one after the last. Returns false when it ended the log instead: a frame missing from
   * it (`stream_expired`), or Redis failing (`store_unavailable`, retryable).
   */
  async function catchUp(streamId: string, log: FollowedLog, untilSeq?: number): Promise<boolean> {
    let entries: Entries;
    try {
      entries = await redis.xrange(KEYS.log(streamId), entryId(log.lastSeq + 1), untilSeq === undefined ? '+' : entryId(untilSeq));
    } catch {
      close(streamId, log, new TokenwireError('store_unavailable', `The stream store failed while this view caught up after seq ${log.lastSeq}; resume from there.`));
      return false;
    }
    for (const record of recordsOf(entries)) {
      const seq = record.frame.seq;
      if (seq <= log.lastSeq) continue;
      if (seq !== log.lastSeq + 1) {
        expired(streamId, log, seq);
        return false;
      }
      log.lastSeq = seq;
      notify(log.listeners, record, streamId);
    }
    if (untilSeq !== undefined && log.lastSeq < untilSeq) {
      expired(streamId, log, untilSeq + 1);
      return false;
    }
    return true;
  }

  /** Follows another process's log: subscribe, then read where the log ends, so every later frame can be checked against it. */
  function followLog(streamId: string): FollowedLog {
    const log: FollowedLog = { listeners: new Set(), lastSeq: -1, readSeq: -1, chain: Promise.resolve(), ready: Promise.resolve(), closed: false, stop: () => {} };
    const subscription = subscriptions.listen(CHANNELS.frames(streamId), (json) => onFrameMessage(streamId, log, json));
    log.stop = subscription.stop;
    log.ready = subscription.ready.then(async () => {
      try {
        const [last] = (await redis.xrevrange(KEYS.log(streamId), '+', '-', 'COUNT', 1)) as Entries;
        log.lastSeq = last ? seqOf(last[0]) : -1;
      } catch {
        close(streamId, log, new TokenwireError('store_unavailable'));
      }
    });
    log.chain = log.ready;
    return log;
  }

  /** A read of the log's frames after `afterSeq`, checked to have no hole. */
  async function readLog(streamId: string, afterSeq: number): Promise<StoreRead> {
    const key = KEYS.log(streamId);
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
  }

  /** What Redis holds of an owned log, then the frames it refused, kept here: one run without a hole. */
  function withUnsynced(read: StoreRead, unsynced: readonly StreamRecord[], afterSeq: number): StoreRead {
    if (read.status === 'expired') return read;
    const records = read.status === 'ok' ? [...read.records] : [];
    let next = Math.max(afterSeq, read.status === 'ok' ? read.lastSeq : -1) + 1;
    for (const record of unsynced) {
      if (record.frame.seq < next) continue;
      if (record.frame.seq > next) return { status: 'expired', firstSeq: record.frame.seq };
      records.push(record);
      next++;
    }
    const last = records.at(-1);
    if (!last) return read;
    return { status: 'ok', records, lastSeq: last.frame.seq, ended: last.frame.type === 'done' };
  }

  subscriptions.onReconnect(() => {
    for (const [streamId, log] of followed) log.chain = log.chain.then(() => (log.closed ? undefined : catchUp(streamId, log).then(() => undefined)));
  });

  return {
    open(streamId) {
      if (owned.has(streamId)) return;
      owned.set(streamId, { listeners: new Set(), sizes: [], seqs: [], head: 0, bytes: 0, expiresAt: 0, finished: false, unsynced: undefined, syncing: false });
    },
    append(streamId, record) {
      const log = owned.get(streamId);
      if (!log) return;
      const key = KEYS.log(streamId);
      const { seq } = record.frame;
      // After a refusal the rest waits here in order: a frame written past a refused one would be a hole.
      if (log.unsynced) keepRefused(streamId, log, record);
      else
        redis.xadd(key, 'MAXLEN', options.maxFrames, entryId(seq), 'f', record.json).catch((error: unknown) => {
          if (isOutOfMemory(error)) keepRefused(streamId, log, record);
          else options.onAppendError?.(streamId, error);
        });
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
    read(streamId, afterSeq) {
      return guard(async () => {
        const following = followed.get(streamId);
        // Read only once the live feed is on, so a frame published meanwhile is not lost.
        if (following) await following.ready;
        const read = await readLog(streamId, afterSeq);
        if (following) {
          // A view of a log whose feed ended meanwhile would wait for frames that never come.
          if (following.closed) throw new TokenwireError('store_unavailable', 'The live feed of this stream was interrupted; retry.');
          if (read.status === 'ok') following.readSeq = Math.max(following.readSeq, read.lastSeq);
        }
        const unsynced = owned.get(streamId)?.unsynced;
        return unsynced?.length ? withUnsynced(read, unsynced, afterSeq) : read;
      });
    },
    follow(streamId, listener) {
      const mine = owned.get(streamId);
      if (mine) {
        mine.listeners.add(listener);
        return () => mine.listeners.delete(listener);
      }
      let log = followed.get(streamId);
      if (!log) {
        log = followLog(streamId);
        followed.set(streamId, log);
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
      // A log with refused frames gets its expiry when they are written.
      if (!log?.unsynced) redis.pexpire(KEYS.log(streamId), options.ttlMs).catch(() => {});
    },
    expire(streamId) {
      const log = owned.get(streamId);
      if (!log) return;
      retained -= log.bytes;
      owned.delete(streamId);
    },
    refresh(now) {
      for (const [streamId, log] of owned) {
        if (log.unsynced && !log.syncing) {
          log.syncing = true;
          void sync(streamId, log).finally(() => (log.syncing = false));
        }
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
