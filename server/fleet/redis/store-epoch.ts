import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TokenwireError } from '../../../shared/errors.js';
import { KEYS } from './keys.js';
import type { Scripts } from './scripts.js';

/**
 * Tells a Redis that lost its data (restarted without persistence, flushed, failed over to an
 * empty replica) from one that never held a record. After a loss every owner writes back what it
 * runs, but not at the same instant: until the last has, a record missing on one instance may be
 * one its owner has not written yet, and the honest answer is "retry" (503 `store_unavailable`),
 * not "no such call" (404).
 */
export interface StoreEpoch {
  /** On start and after every reconnect or lost lease: learn the epoch; opens the recovery window when Redis lost it. */
  meet(): Promise<void>;
  /** True while a missing record may still be written back by its owner. */
  recovering(): Promise<boolean>;
}

export function createStoreEpoch(deps: { redis: Redis; scripts: Scripts; /** One owner lease: an owner that has not written back by then is gone anyway. */ windowMs: number }): StoreEpoch {
  let known = '';
  const meet = async () => {
    known = await deps.scripts.meetEpoch([KEYS.epoch, KEYS.recovering], [randomUUID(), known, deps.windowMs]);
  };
  return {
    meet,
    async recovering() {
      const [epoch, marker] = await deps.redis.mget(KEYS.epoch, KEYS.recovering);
      if (epoch !== null && epoch === known) return marker !== null;
      // This instance has not met the loss yet (its reconnect is still on its way): meet it now.
      await meet();
      return true;
    },
  };
}

/** The answer for a record missing while the recovery window is open: retry, its owner is writing it back. */
export const recovering = (): TokenwireError =>
  new TokenwireError('store_unavailable', 'Redis lost its data moments ago and the instances are writing it back; retry shortly.');
