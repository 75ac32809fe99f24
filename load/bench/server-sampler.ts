import { processCpuSeconds, processRssBytes } from './proc-stats.js';

/** RSS and CPU samples of a server process taken on a fixed period while a level runs. */
export interface ProcessSampler {
  /** Median RSS of the samples taken between two epoch-ms instants (the last sample if none). */
  medianBetween(from: number, to: number): number;
  readonly peak: number;
  /** The process's CPU in each second from `from` (epoch ms), as % of one core. */
  cpuTimeline(from: number): number[];
  stop(): void;
}

export function sampleProcess(pid: number, periodMs = 250): ProcessSampler {
  const samples: { at: number; rss: number; cpu: number }[] = [];
  let peak = 0;
  const take = () => {
    try {
      const rss = processRssBytes(pid);
      samples.push({ at: Date.now(), rss, cpu: processCpuSeconds(pid) });
      if (rss > peak) peak = rss;
    } catch {
      // the process went away; the level will fail on its own
    }
  };
  take();
  const timer = setInterval(take, periodMs);
  return {
    medianBetween(from, to) {
      const inside = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rss).sort((a, b) => a - b);
      if (inside.length === 0) return samples.at(-1)?.rss ?? 0;
      return inside[Math.floor(inside.length / 2)] ?? 0;
    },
    get peak() {
      return peak;
    },
    cpuTimeline(from) {
      const out: number[] = [];
      for (let t = from; ; t += 1000) {
        const a = samples.find((x) => x.at >= t);
        const b = samples.find((x) => x.at >= t + 1000);
        if (!a || !b || b.at === a.at) break;
        out.push(Math.round((100 * 1000 * (b.cpu - a.cpu)) / (b.at - a.at)));
      }
      return out;
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU seconds of a process, or NaN if it is gone. */
export function cpuOf(pid: number): number {
  try {
    return processCpuSeconds(pid);
  } catch {
    return Number.NaN;
  }
}

/** Median of a few RSS readings `gapMs` apart: one reading can catch a GC mid-way. */
export async function settledRss(pid: number, readings = 5, gapMs = 100): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < readings; i++) {
    values.push(processRssBytes(pid));
    if (i < readings - 1) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? 0;
}
