import { TokenwireError } from '../../shared/errors.js';
import { createTokenBuckets } from './token-bucket.js';

/** Who a request comes from, for limits: the authenticated subject, else the client's address. */
export const clientKey = (subject: string | undefined, address: string | undefined): string =>
  subject !== undefined ? `sub:${subject}` : `addr:${address ?? 'unknown'}`;

/**
 * Per-client stream limits, counted in this process's memory; with REDIS_URL the
 * shared ones (SharedClientLimits, server/fleet/redis/redis-limits.ts) replace them.
 */
export interface ClientLimits {
  /**
   * Admits one new stream for `key`, or throws `too_many_streams` (concurrent) or
   * `rate_limited` (starts per minute), each with `retryAfterMs`. Call the returned function
   * once when the stream ends.
   */
  admitStream(key: string): () => void;
  /** Streams `key` has generating now. */
  open(key: string): number;
}

/**
 * Per-client stream limits shared by every instance (Redis): the same contract as
 * ClientLimits, answered asynchronously.
 */
export interface SharedClientLimits {
  admitStream(key: string): Promise<() => void>;
}

export interface ClientLimitOptions {
  maxStreamsPerClient: number;
  startsPerMinute: number;
  now?: () => number;
}

/** ClientLimits in this process's memory. */
export function createMemoryClientLimits(options: ClientLimitOptions): ClientLimits {
  const open = new Map<string, number>();
  const starts = createTokenBuckets({ capacity: options.startsPerMinute, windowMs: 60_000, ...(options.now ? { now: options.now } : {}) });

  return {
    admitStream(key) {
      const count = open.get(key) ?? 0;
      if (count >= options.maxStreamsPerClient) {
        // No clock says when a stream ends; a second is a fair first wait for a polite client.
        throw new TokenwireError('too_many_streams', `At most ${options.maxStreamsPerClient} streams may be open per client.`, { retryAfterMs: 1_000 });
      }
      const wait = starts.take(key);
      if (wait > 0) {
        throw new TokenwireError('rate_limited', `At most ${options.startsPerMinute} streams may be started per minute.`, { retryAfterMs: wait });
      }
      open.set(key, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        if (left <= 0) open.delete(key);
        else open.set(key, left);
      };
    },
    open: (key) => open.get(key) ?? 0,
  };
}
