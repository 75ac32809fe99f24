import { writeFile } from 'node:fs/promises';
import { renderChart } from './chart-svg.js';
import type { BenchOptions } from './options.js';
import { renderMarkdown } from './report-markdown.js';
import { attachRatios } from './stream-phase.js';
import type { BenchResults, IdleResult, MachineInfo, ProbeResult, SaturationResult, StreamResult } from './types.js';
import { judge } from './verdicts.js';

export interface Collected {
  options: BenchOptions;
  machine: MachineInfo;
  streams: StreamResult[];
  idle: IdleResult[];
  probes: ProbeResult[];
  saturation: SaturationResult[];
  /** The tokenwire transports that actually ran. */
  wires: ('sse' | 'ws')[];
  warnings: string[];
  began: number;
  serverEnv: Record<string, string>;
  prompt: string;
}

/** The results object (schema tokenwire-bench/1): ratios, verdicts and a summary warning added. */
export function assembleResults(c: Collected): BenchResults {
  const { options, streams, idle } = c;
  attachRatios(streams, idle);
  const warnings = [...c.warnings];
  const harnessBound = streams.filter((r) => r.warnings.some((w) => w.startsWith('load generator') || w.startsWith('machine')));
  if (harnessBound.length) {
    warnings.push(`${harnessBound.length} of ${streams.length} stream rows were limited by the load generator or the machine, not only the server: read their latency figures as upper bounds`);
  }
  return {
    schema: 'tokenwire-bench/1',
    name: options.name,
    quick: options.quick,
    machine: c.machine,
    settings: {
      levels: options.levels,
      ratePerStream: options.rate,
      holdMs: options.holdMs,
      rampPerSecond: options.rampPerSecond,
      throughput: options.throughput,
      burst: options.burst,
      burstHoldMs: options.burstHoldMs,
      saturationRate: options.saturationRate ?? null,
      saturationHoldMs: options.saturationHoldMs,
      idleConnections: options.idleConnections,
      approvals: options.approvals,
      disconnects: options.disconnects,
      clientWorkers: options.workers,
      runner: options.runner,
      source: options.source ?? null,
      transports: c.wires,
      baseline: options.baseline,
      serverEnv: c.serverEnv,
      prompt: c.prompt,
      sseTokenCounting: 'the SSE client counts "event: token" lines in the raw bytes; it does not JSON-parse token frames',
    },
    results: [...streams, ...idle, ...c.probes, ...c.saturation],
    targets: judge(streams, idle, c.wires, c.saturation),
    warnings,
    durationMs: Date.now() - c.began,
  };
}

/** Writes <base>.json, <base>.svg and <base>.md. */
export async function writeResults(base: string, results: BenchResults): Promise<void> {
  const name = base.slice(base.lastIndexOf('/') + 1);
  await writeFile(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(`${base}.svg`, renderChart(results));
  await writeFile(`${base}.md`, renderMarkdown(results, `${name}.svg`));
}
