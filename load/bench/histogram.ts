/**
 * A log-linear histogram of non-negative microsecond values (HdrHistogram's idea, small):
 * exact below 256 µs, then 128 sub-buckets per power of two, so every value is kept within
 * 0.8 %. Fixed size, O(1) record, mergeable across worker processes as sparse pairs.
 */

const SUB = 128;
const LINEAR = 2 * SUB; // values below this are their own bucket
const BUCKETS = SUB * 26; // up to 2^31 µs (about 35 minutes)

/** Summary in milliseconds; all zero when nothing was recorded. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The wire form of a histogram between processes: [bucket, count] pairs, plus exact sum and max. */
export interface HistogramData {
  pairs: [number, number][];
  sum: number;
  max: number;
}

export interface Histogram {
  /** Records one value in microseconds; negatives count as 0, non-finite values are ignored. */
  record(us: number): void;
  /** Records the same value `n` times. */
  recordMany(us: number, n: number): void;
  merge(data: HistogramData): void;
  readonly count: number;
  /** The value at quantile q (0..1), in microseconds: the upper edge of its bucket, capped at the max seen. */
  quantile(q: number): number;
  /** The distribution in milliseconds. */
  summary(): Percentiles;
  toData(): HistogramData;
}

function bucketOf(us: number): number {
  const v = Math.min(Math.floor(us), 2 ** 31 - 1);
  if (v < LINEAR) return v;
  const exponent = 31 - Math.clz32(v);
  const shift = exponent - 7;
  return SUB * shift + (v >>> shift);
}

function upperEdgeOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const shift = Math.floor(bucket / SUB) - 1;
  const sub = bucket - SUB * shift;
  return (sub + 1) * 2 ** shift - 1;
}

export function createHistogram(): Histogram {
  const counts = new Float64Array(BUCKETS);
  let count = 0;
  let sum = 0;
  let max = 0;

  const recordMany = (us: number, n: number) => {
    if (!Number.isFinite(us) || n <= 0) return;
    const v = us < 0 ? 0 : us;
    const bucket = bucketOf(v);
    counts[bucket] = (counts[bucket] ?? 0) + n;
    count += n;
    sum += v * n;
    if (v > max) max = v;
  };

  const quantile = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i] ?? 0;
      if (seen >= rank) return Math.min(upperEdgeOf(i), max);
    }
    return max;
  };

  return {
    record: (us) => recordMany(us, 1),
    recordMany,
    merge(data) {
      for (const [bucket, n] of data.pairs) {
        if (bucket < 0 || bucket >= BUCKETS) continue;
        counts[bucket] = (counts[bucket] ?? 0) + n;
        count += n;
      }
      sum += data.sum;
      if (data.max > max) max = data.max;
    },
    get count() {
      return count;
    },
    quantile,
    summary() {
      const ms = (us: number) => Math.round(us) / 1000;
      return {
        count,
        p50: ms(quantile(0.5)),
        p90: ms(quantile(0.9)),
        p99: ms(quantile(0.99)),
        max: ms(max),
        mean: count ? ms(sum / count) : 0,
      };
    },
    toData() {
      const pairs: [number, number][] = [];
      for (let i = 0; i < BUCKETS; i++) if (counts[i]) pairs.push([i, counts[i] as number]);
      return { pairs, sum, max };
    },
  };
}

/** Merges several wire histograms into one summary. */
export function summarize(parts: HistogramData[]): Percentiles {
  const h = createHistogram();
  for (const part of parts) h.merge(part);
  return h.summary();
}
