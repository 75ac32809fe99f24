import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvictionKind } from './memory-store.js';
import type { StreamStore } from './stream-store.js';

/** The stream store's metrics (issue #9): bytes its logs retain and streams whose frames were evicted early. */
export interface StoreMetrics {
  /** Call when frames of a stream were evicted before its time to live. */
  evicted(kind: EvictionKind): void;
  /** Reads the store's retained bytes at each scrape. */
  watch(store: StreamStore): void;
}

/** Registers the store's metrics on `registry`. */
export function createStoreMetrics(registry: Registry): StoreMetrics {
  let watched: StreamStore | undefined;
  new Gauge({
    name: 'tokenwire_stream_bytes_retained',
    help: "Approximate heap bytes of the frames kept in streams' logs (STREAMS_MAX_RETAINED_BYTES bounds it).",
    registers: [registry],
    collect() {
      this.set(watched?.retainedBytes ?? 0);
    },
  });
  const evictions = new Counter({
    name: 'tokenwire_streams_evicted_total',
    help: 'Streams that lost frames before their time to live: finished (evicted oldest first), live (trimmed for the total budget), stream_cap (past STREAM_MAX_BYTES or STREAM_MAX_FRAMES).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  return {
    evicted: (kind) => evictions.inc({ kind }),
    watch: (store) => (watched = store),
  };
}
