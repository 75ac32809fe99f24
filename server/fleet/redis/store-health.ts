import type { Redis } from 'ioredis';
import { isTokenwireError, TokenwireError } from '../../../shared/errors.js';
import type { Logger } from '../../observability/log.js';

/** Whether Redis answers and takes writes, and the deadline on what requests wait for. */
export interface StoreHealth {
  /** False while Redis is unreachable, does not answer (frozen), or refuses writes (out of memory). */
  readonly available: boolean;
  /**
   * Runs Redis work a request waits on: `store_unavailable` at once while Redis is unreachable
   * or frozen, when `work` has not answered within the deadline, or when Redis refuses it for
   * memory; other errors pass through.
   */
  guard<T>(work: () => Promise<T>): Promise<T>;
  /** Redis refused a write for memory: not available until a probe write goes through. */
  refused(): void;
  stop(): void;
}

export interface StoreHealthOptions {
  redis: Redis;
  /** True while the connections are up (ioredis `ready`). */
  connected: () => boolean;
  /** How long a request waits for Redis before `store_unavailable`, and how long a probe may take before Redis counts as frozen. */
  deadlineMs: number;
  /** How often the probe runs. */
  intervalMs: number;
  /** The key a probe writes while Redis refuses writes. */
  probeKey: string;
  /** Redis takes writes again after refusing them. */
  onWritable?: () => void;
  log: Logger;
}

/** Redis's answer to a write that would pass `maxmemory` under `noeviction` (or with nothing left to evict). */
export const isOutOfMemory = (error: unknown): boolean => error instanceof Error && error.message.startsWith('OOM ');

/**
 * A probe on a timer (PING; a small SET while writes are refused) tells a frozen Redis from a
 * healthy one: a probe without an answer within the deadline makes the store unavailable until
 * it answers. ioredis's own `commandTimeout` would fail every queued command, the appends of
 * running generations included, which must instead wait and go out in order.
 */
export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const { redis, deadlineMs, log } = options;
  let stalled = false;
  let outOfMemory = false;
  let probing = false;

  const unavailable = (message?: string) => new TokenwireError('store_unavailable', message);
  const stall = () => {
    if (!stalled) log.warn({ deadlineMs }, 'Redis does not answer; refusing what needs it until it does');
    stalled = true;
  };
  const isAvailable = () => options.connected() && !stalled && !outOfMemory;

  function probe(): void {
    if (probing) return;
    probing = true;
    const timer = setTimeout(stall, deadlineMs);
    const work = outOfMemory ? redis.set(options.probeKey, '1', 'PX', 10_000) : redis.ping();
    work
      .then(
        () => {
          const wasRefusing = outOfMemory;
          if (stalled || outOfMemory) log.info('Redis answers and takes writes again');
          stalled = false;
          outOfMemory = false;
          if (wasRefusing) options.onWritable?.();
        },
        (error: unknown) => {
          // An answer, if a refusal: Redis is not frozen.
          stalled = false;
          if (isOutOfMemory(error)) outOfMemory = true;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        probing = false;
      });
  }
  const interval = setInterval(probe, options.intervalMs);
  interval.unref();

  return {
    get available() {
      return isAvailable();
    },
    async guard(work) {
      // Out of memory, reads still work: a write among `work` is refused on its own.
      if (!options.connected() || stalled) throw unavailable();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          stall();
          probe();
          reject(unavailable('The stream store did not answer in time; retry shortly.'));
        }, deadlineMs);
      });
      try {
        return await Promise.race([work(), late]);
      } catch (error) {
        if (isTokenwireError(error)) throw error;
        if (isOutOfMemory(error)) {
          outOfMemory = true;
          throw unavailable('The stream store is full; retry shortly.');
        }
        if (!options.connected()) throw unavailable();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    refused() {
      if (!outOfMemory) log.warn('Redis refuses writes (out of memory); new streams are refused until it takes them again');
      outOfMemory = true;
    },
    stop: () => clearInterval(interval),
  };
}
