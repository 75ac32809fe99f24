/** A token bucket per key: `capacity` tokens, refilled continuously at `perMs` tokens per millisecond. */
export interface TokenBuckets {
  /** Takes one token for `key`: 0 when it had one, else the milliseconds until it will. */
  take(key: string): number;
  /** Keys with a bucket that is not full (a full one is forgotten: it is the default state). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Past this many keys, full buckets are swept on the next take, so idle clients cost no memory. */
const SWEEP_AT = 10_000;

/**
 * In-process token buckets: bursts up to `capacity`, then `capacity` per `windowMs`.
 * Per process until the Redis store lands; ClientLimits is the seam a shared one replaces.
 */
export function createTokenBuckets(options: { capacity: number; windowMs: number; now?: () => number }): TokenBuckets {
  const { capacity, windowMs } = options;
  const now = options.now ?? performance.now.bind(performance);
  const perMs = capacity / windowMs;
  const buckets = new Map<string, Bucket>();
  let sweepAt = SWEEP_AT;

  const refill = (bucket: Bucket, t: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
  };

  const sweep = (t: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, t);
      if (bucket.tokens >= capacity) buckets.delete(key);
    }
    sweepAt = Math.max(SWEEP_AT, buckets.size * 2);
  };

  return {
    take(key) {
      const t = now();
      if (buckets.size >= sweepAt) sweep(t);
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: capacity, at: t };
        buckets.set(key, bucket);
      } else {
        refill(bucket, t);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / perMs);
    },
    get size() {
      return buckets.size;
    },
  };
}
