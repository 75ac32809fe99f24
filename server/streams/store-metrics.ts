import { Counter, type Registry } from 'prom-client';
import type { EvictionKind } from './memory-store.js';

/**
 * The stream store's eviction counter (issue #9). The bytes it retains are
 * `tokenwire_retained_log_bytes` (server/metrics.ts), read from the hub at each scrape.
 */
export interface StoreMetrics {
  /** Call when frames of a stream were evicted before its time to live. */
  evicted(kind: EvictionKind): void;
}

/** Registers the store's metrics on `registry`. */
export function createStoreMetrics(registry: Registry): StoreMetrics {
  const evictions = new Counter({
    name: 'tokenwire_streams_evicted_total',
    help: 'Streams that lost frames before their time to live: finished (evicted oldest first), live (trimmed for the total budget), stream_cap (past STREAM_MAX_BYTES or STREAM_MAX_FRAMES).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  return {
    evicted: (kind) => evictions.inc({ kind }),
  };
}
