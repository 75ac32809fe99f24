import type { Metric, Registry } from 'prom-client';

/** One label set's buckets: count per bucket (not cumulative), sum and count. */
export interface HistogramChild {
  /** Records one value (seconds): a bucket search over a few bounds, three additions. */
  observe(value: number): void;
}

/**
 * A Prometheus histogram for per-token observations. prom-client's `observe`
 * hashes and validates the labels on every call (about 0.7 µs); here a child holds its own
 * arrays, so a token costs a bucket search and three additions. It registers on a prom-client
 * registry as a metric whose `get()` gives the standard `_bucket`/`_sum`/`_count` series.
 */
export function createTokenHistogram<L extends string>(options: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registry: Registry }) {
  const bounds = [...options.buckets].sort((a, b) => a - b);
  const children = new Map<string, { labels: Record<L, string>; counts: number[]; sum: number; count: number; handle: HistogramChild }>();

  const metric = {
    name: options.name,
    help: options.help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      for (const child of children.values()) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += child.counts[i] as number;
          values.push({ value: cumulative, labels: { ...child.labels, le }, metricName: `${options.name}_bucket` });
        });
        values.push({ value: child.count, labels: { ...child.labels, le: '+Inf' }, metricName: `${options.name}_bucket` });
        values.push({ value: child.sum, labels: child.labels, metricName: `${options.name}_sum` });
        values.push({ value: child.count, labels: child.labels, metricName: `${options.name}_count` });
      }
      return { name: options.name, help: options.help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      children.clear();
    },
  };
  options.registry.registerMetric(metric as unknown as Metric);

  return {
    /** The child for one label set; resolve it once per stream, then observe per token. */
    labels(labels: Record<L, string>): HistogramChild {
      const key = options.labelNames.map((name) => labels[name]).join('\u0000');
      const found = children.get(key);
      if (found) return found.handle;
      const counts = bounds.map(() => 0);
      // One handle per label set, made once: streams share it (no object per stream).
      const child = {
        labels: { ...labels },
        counts,
        sum: 0,
        count: 0,
        handle: {
          observe(value: number) {
            let i = 0;
            while (i < bounds.length && value > (bounds[i] as number)) i++;
            if (i < counts.length) counts[i] = (counts[i] as number) + 1;
            child.sum += value;
            child.count++;
          },
        },
      };
      children.set(key, child);
      return child.handle;
    },
  };
}
