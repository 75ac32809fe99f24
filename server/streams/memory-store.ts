import type { StoreListener, StoreRead, StreamRecord, StreamStore } from './stream-store.js';

/** Heap a kept record costs beyond its JSON (the frame object, the record, the array slot): measured ~185 B on Node 24. */
export const RECORD_OVERHEAD_BYTES = 192;

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

interface Log {
  id: string;
  records: StreamRecord[];
  head: number;
  bytes: number;
  listeners: Set<StoreListener>;
}

const recordBytes = (record: StreamRecord) => record.json.length + RECORD_OVERHEAD_BYTES;
/** Trims go this far below a budget, so a log at its limit is not trimmed on every append. */
const HYSTERESIS = 0.9;

/**
 * The in-process store (the default). Every log has a byte and a frame budget, and all logs a
 * total one (issue #9): past it, finished logs are evicted oldest first down to their `done`
 * frame (so a resume from before it gets `stream_expired`, one from it `done`), then the
 * largest live logs lose their oldest frames. Appends stay O(1) amortised.
 */
export function createMemoryStore(options: MemoryStoreOptions): StreamStore {
  const logs = new Map<string, Log>();
  /** Finished logs still holding more than their `done`, oldest first (Map keeps insertion order). */
  const finished = new Map<string, Log>();
  let total = 0;

  const size = (log: Log) => log.records.length - log.head;

  /** Drops a log's oldest records until it holds at most `bytes` and `frames`; keeps the newest one. */
  function trim(log: Log, bytes: number, frames = Infinity): boolean {
    const before = log.head;
    while (size(log) > 1 && (log.bytes > bytes || size(log) > frames)) {
      const dropped = recordBytes(log.records[log.head] as StreamRecord);
      log.records[log.head++] = undefined as unknown as StreamRecord;
      log.bytes -= dropped;
      total -= dropped;
    }
    if (log.head > 1024 && log.head * 2 > log.records.length) {
      log.records = log.records.slice(log.head);
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
      if (!logs.has(streamId)) logs.set(streamId, { id: streamId, records: [], head: 0, bytes: 0, listeners: new Set() });
    },
    append(streamId, record) {
      const log = logs.get(streamId);
      if (!log) return;
      const bytes = recordBytes(record);
      log.records.push(record);
      log.bytes += bytes;
      total += bytes;
      if (log.bytes > options.maxStreamBytes || size(log) > options.maxFrames) {
        if (trim(log, options.maxStreamBytes * HYSTERESIS, Math.floor(options.maxFrames * HYSTERESIS))) options.onEvict?.('stream_cap', streamId);
      }
      enforceTotal();
      for (const listener of log.listeners) {
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
      const firstSeq = log.records[log.head]?.frame.seq ?? 0;
      if (afterSeq + 1 < firstSeq) return Promise.resolve({ status: 'expired', firstSeq });
      const last = log.records.at(-1);
      return Promise.resolve({
        status: 'ok',
        records: log.records.slice(log.head + Math.max(0, afterSeq + 1 - firstSeq)),
        lastSeq: size(log) > 0 ? (last?.frame.seq ?? -1) : -1,
        ended: size(log) > 0 && last?.frame.type === 'done',
      });
    },
    follow(streamId, listener) {
      const listeners = logs.get(streamId)?.listeners;
      listeners?.add(listener);
      return () => listeners?.delete(listener);
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
      log.listeners.clear();
    },
    get retainedBytes() {
      return total;
    },
  };
}
