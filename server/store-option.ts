import type { Config } from './config.js';
import type { Fleet } from './fleet.js';
import type { Logger } from './log.js';

/** What a shared store is handed when tokenwire opens it. */
export interface StoreContext {
  config: Config;
  instanceId: string;
  /** This process's incarnation (instance#random): the owner named in what it shares. */
  incarnation: string;
  log: Logger;
}

/**
 * Where stream logs, limits, idempotency keys, decisions and the audit trail live:
 * `memoryStore()` (one process) or `redisStore(…)` from `tokenwire/redis` (a fleet). The
 * Redis store is opened through `open`, so the main entry point never loads ioredis.
 */
export type StoreOption =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      /** Connects and returns the fleet; rejects with a `RedisUnavailableError` when Redis does not answer. */
      open(context: StoreContext): Promise<Fleet>;
    };

/** Every stream in this process's memory, bounded by `streams.maxRetainedBytes` (the default store). */
export const memoryStore = (): StoreOption => ({ kind: 'memory' });
