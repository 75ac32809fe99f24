import type { Config } from '../settings/config.js';
import type { Fleet } from './fleet.js';
import type { Logger } from '../observability/log.js';

/** What a shared store is handed when tokenwire opens it. */
export interface StoreContext {
  config: Config;
  instanceId: string;
  /** This process's incarnation (instance#random): the owner named in what it shares. */
  incarnation: string;
  log: Logger;
}

/** Connects a shared store and returns the fleet; rejects (a `RedisUnavailableError`) when it cannot. */
export type StoreOpener = (context: StoreContext) => Promise<Fleet>;

/**
 * Where stream logs, limits, idempotency keys, decisions and the audit trail live:
 * `memoryStore()` (one process, the default) or `redisStore(…)` from `tokenwire/redis` (a
 * fleet). Opaque: make one with those factories and pass it as `TokenwireOptions.store`; a
 * copy or a hand-written object is refused with a `TypeError`.
 */
export interface StoreOption {
  /** Which store this is: `memory` keeps everything in this process, `redis` shares it across instances. */
  readonly kind: 'memory' | 'redis';
}

// How to open a shared store lives beside its option, not on it: the public type then names no
// internal type (the fleet, the config), and the main entry point still never loads ioredis.
const openers = new WeakMap<StoreOption, StoreOpener>();

/** The option of a shared store, opened through `open` when an instance is created (`redisStore` makes one). */
export function sharedStore(kind: 'redis', open: StoreOpener): StoreOption {
  const option: StoreOption = Object.freeze({ kind });
  openers.set(option, open);
  return option;
}

/** How to open `option`: undefined for the memory store, which has nothing to connect. */
export const openerOf = (option: StoreOption): StoreOpener | undefined => openers.get(option);

/** True for what `memoryStore()` or `redisStore(…)` (of this copy of tokenwire) made. */
export function isStoreOption(value: unknown): value is StoreOption {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'memory' || (kind === 'redis' && openers.has(value as StoreOption));
}

/** Every stream in this process's memory, bounded by `streams.maxRetainedBytes` (the default store). */
export const memoryStore = (): StoreOption => Object.freeze({ kind: 'memory' });
