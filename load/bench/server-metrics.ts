/**
 * Reads tokenwire's /metrics (prom-client's default metrics): event-loop delay and GC time.
 * prom-client resets its event-loop histogram on every scrape, so a scrape at the start of a
 * level and one at its end give the level's own delay. The baseline has no /metrics: null.
 */

/** prom-client samples the loop every 10 ms and records whole intervals: the delay is the value minus that. */
const PROM_ELD_RESOLUTION_S = 0.01;

export interface MetricsSample {
  eventLoopP99S: number;
  eventLoopMaxS: number;
  gcS: number;
  gcMajorS: number;
}

export async function scrapeMetrics(port: number): Promise<MetricsSample | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) {
      await res.arrayBuffer();
      return null;
    }
    const text = await res.text();
    const value = (pattern: RegExp) => {
      let sum = 0;
      for (const match of text.matchAll(pattern)) sum += Number(match[1]) || 0;
      return sum;
    };
    return {
      eventLoopP99S: value(/^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/gm),
      eventLoopMaxS: value(/^nodejs_eventloop_lag_max_seconds ([\d.e+-]+)$/gm),
      gcS: value(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)$/gm),
      gcMajorS: value(/^nodejs_gc_duration_seconds_sum\{kind="major"\} ([\d.e+-]+)$/gm),
    };
  } catch {
    return null;
  }
}

/** The level's figures from a scrape at its start and one at its end. */
export function runtimeBetween(start: MetricsSample | null, end: MetricsSample | null) {
  if (!start || !end) return null;
  const ms = (s: number) => Math.round(Math.max(0, s - PROM_ELD_RESOLUTION_S) * 1e5) / 100;
  return {
    eventLoopDelayP99Ms: ms(end.eventLoopP99S),
    eventLoopDelayMaxMs: ms(end.eventLoopMaxS),
    gcSeconds: Math.round((end.gcS - start.gcS) * 1000) / 1000,
    gcMajorSeconds: Math.round((end.gcMajorS - start.gcMajorS) * 1000) / 1000,
  };
}
