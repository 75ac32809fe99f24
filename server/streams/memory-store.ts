import { tokenJsonPrefix, tokenRecord, type StoreListener, type StoreRead, type StreamRecord, type StreamStore } from './stream-store.js';

/** Heap a kept record costs beyond its JSON (the frame object, the record, the array slot): measured ~185 B on Node 24. */
export const RECORD_OVERHEAD_BYTES = 192;
/** Heap a kept token costs beyond its text's characters (the string's header, the array slot). */
export const TOKEN_ENTRY_OVERHEAD_BYTES = 24;

/** Why frames left the memory store before their stream's time to live. */
export type EvictionKind = 'finished' | 'live' | 'stream_cap';

export interface MemoryStoreOptions {
  /** Bytes one stream's log may hold; past it its oldest frames go. */
  maxStreamBytes: number;
  /** Bytes all logs together may hold: finished logs go first (oldest first), then the largest live logs are trimmed. */
  maxTotalBytes: number;
  /** Frames one stream's log may hold. */
  maxFrames: number;
  /** Frames of a stream were dropped before its time to live (for a metric). */
  onEvict?: (kind: EvictionKind, streamId: string) => void;
  onListenerError?: (error: unknown, streamId: string) => void;
}

/**
 * A kept frame: its record, or for a token the hub built (`tokenText` on append) only its
 * text, rebuilt into the same record on read. A record per token was ~8 heap objects that
 * every scavenge copied while the stream lived; a string is one, with nothing to trace.
 */
type Entry = StreamRecord | string;

interface Log {
  id: string;
  /** Entries; `entries[i]` has seq `base + i` (the hub numbers a log's frames without gaps). */
  entries: Entry[];
  head: number;
  base: number;
  bytes: number;
  /**
   * Its followers in the order they came, replaced (never changed) when one comes or goes, so
   * an append walks the array it started with. An array, not a Set: a parked stream has two
   * (its view and its metrics), and a Set's hash table for them was ~130 B.
   */
  listeners: readonly StoreListener[] | undefined;
  /** The token JSON prefix for rebuilding records, made at the first read that needs it. */
  prefix: string | undefined;
}

const entryBytes = (entry: Entry) =>
  typeof entry === 'string' ? entry.length + TOKEN_ENTRY_OVERHEAD_BYTES : entry.json.length + RECORD_OVERHEAD_BYTES;
/** Trims go this far below a budget, so a log at its limit is not trimmed on every append. */
const HYSTERESIS = 0.9;

/**
 * The in-process store (the default). Every log has a byte and a frame budget, and all logs a
 * total one: past it, finished logs are evicted oldest first down to their `done`
 * frame (so a resume from before it gets `stream_expired`, one from it `done`), then the
 * largest live logs lose their oldest frames. Appends stay O(1) amortised.
 */
export function createMemoryStore(options: MemoryStoreOptions): StreamStore {
  const logs = new Map<string, Log>();
  /** Finished logs still holding more than their `done`, oldest first (Map keeps insertion order). */
  const finished = new Map<string, Log>();
  let total = 0;

  const size = (log: Log) => log.entries.length - log.head;
  const recordAt = (log: Log, index: number): StreamRecord => {
    const entry = log.entries[index] as Entry;
    if (typeof entry !== 'string') return entry;
    log.prefix ??= tokenJsonPrefix(log.id);
    return tokenRecord(log.id, log.prefix, log.base + index, entry);
  };

  /** Drops a log's oldest records until it holds at most `bytes` and `frames`; keeps the newest one. */
  function trim(log: Log, bytes: number, frames = Infinity): boolean {
    const before = log.head;
    while (size(log) > 1 && (log.bytes > bytes || size(log) > frames)) {
      const dropped = entryBytes(log.entries[log.head] as Entry);
      log.entries[log.head++] = undefined as unknown as Entry;
      log.bytes -= dropped;
      total -= dropped;
    }
    if (log.head > 1024 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.base += log.head;
      log.head = 0;
    }
    return log.head !== before;
  }

  function enforceTotal(): void {
    if (total <= options.maxTotalBytes) return;
    for (const log of finished.values()) {
      if (total <= options.maxTotalBytes * HYSTERESIS) return;
      finished.delete(log.id);
      if (trim(log, 0)) options.onEvict?.('finished', log.id);
    }
    // Only live logs are left to give: take the oldest frames of the largest.
    while (total > options.maxTotalBytes * HYSTERESIS) {
      let largest: Log | undefined;
      for (const log of logs.values()) if (size(log) > 1 && (!largest || log.bytes > largest.bytes)) largest = log;
      if (!largest) return;
      const excess = total - options.maxTotalBytes * HYSTERESIS;
      if (!trim(largest, Math.max(largest.bytes - excess, largest.bytes / 2))) return;
      options.onEvict?.('live', largest.id);
    }
  }

  return {
    open(streamId) {
      if (!logs.has(streamId)) logs.set(streamId, { id: streamId, entries: [], head: 0, base: 0, bytes: 0, listeners: undefined, prefix: undefined });
    },
    append(streamId, record, tokenText) {
      const log = logs.get(streamId);
      if (!log) return;
      if (log.entries.length === 0) log.base = record.frame.seq;
      // Only the text of a token whose seq is where the log expects it: it is rebuilt from that.
      const entry = tokenText !== undefined && record.frame.seq === log.base + log.entries.length ? tokenText : record;
      const bytes = entryBytes(entry);
      // The first entry in an array of its own size: a push into `[]` makes room for 17, and a
      // parked stream's log holds only its `start`.
      if (log.entries.length === 0) log.entries = [entry];
      else log.entries.push(entry);
      log.bytes += bytes;
      total += bytes;
      if (log.bytes > options.maxStreamBytes || size(log) > options.maxFrames) {
        if (trim(log, options.maxStreamBytes * HYSTERESIS, Math.floor(options.maxFrames * HYSTERESIS))) options.onEvict?.('stream_cap', streamId);
      }
      enforceTotal();
      const listeners = log.listeners;
      if (!listeners) return;
      for (const listener of listeners) {
        // One that left during this append (a Set's iteration would skip it too) is not told.
        if (log.listeners !== listeners && !log.listeners?.includes(listener)) continue;
        try {
          listener(record);
        } catch (error) {
          options.onListenerError?.(error, streamId);
        }
      }
    },
    read(streamId, afterSeq): Promise<StoreRead> {
      const log = logs.get(streamId);
      if (!log) return Promise.resolve({ status: 'unknown' });
      const firstSeq = size(log) > 0 ? log.base + log.head : 0;
      if (afterSeq + 1 < firstSeq) return Promise.resolve({ status: 'expired', firstSeq });
      const records: StreamRecord[] = [];
      for (let i = log.head + Math.max(0, afterSeq + 1 - firstSeq); i < log.entries.length; i++) records.push(recordAt(log, i));
      const last = log.entries.at(-1);
      return Promise.resolve({
        status: 'ok',
        records,
        lastSeq: size(log) > 0 ? log.base + log.entries.length - 1 : -1,
        ended: size(log) > 0 && typeof last !== 'string' && last?.frame.type === 'done',
      });
    },
    follow(streamId, listener) {
      const log = logs.get(streamId);
      if (!log) return () => {};
      if (!log.listeners?.includes(listener)) log.listeners = [...(log.listeners ?? []), listener];
      return () => {
        const left = log.listeners?.filter((l) => l !== listener);
        if (left?.length !== log.listeners?.length) log.listeners = left?.length ? left : undefined;
      };
    },
    finish(streamId) {
      const log = logs.get(streamId);
      if (log && size(log) > 1) finished.set(streamId, log);
      enforceTotal();
    },
    expire(streamId) {
      const log = logs.get(streamId);
      if (!log) return;
      total -= log.bytes;
      logs.delete(streamId);
      finished.delete(streamId);
      log.listeners = undefined;
    },
    get retainedBytes() {
      return total;
    },
  };
}
