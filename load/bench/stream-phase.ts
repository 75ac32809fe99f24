import type { ClientPool } from './client-pool.js';
import { measureLevel, type LevelSpec } from './measure-level.js';
import type { BenchOptions } from './options.js';
import type { ServerProcess } from './servers.js';
import { BASELINE_OF, type IdleResult, type StreamPhase, type StreamResult, type Target, type Wire } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const n = (v: number, digits = 1) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The progress line of one level. */
export function progressLine(r: StreamResult): string {
  const ratio = r.vsBaseline?.cpuPerToken ? ` (${n(r.vsBaseline.cpuPerToken, 2)}× base)` : '';
  return (
    `    ${r.target.padEnd(9)} ${r.wire.padEnd(4)} ${n(r.throughput.tokensPerSecond, 0)} tok/s (${n(100 * r.throughput.deliveredRatio, 0)}%)` +
    ` · TTFT p99 ${n(r.ttftMs.p99)} ms · ITL p50/p99 ${n(r.addedInterTokenMs.p50, 2)}/${n(r.addedInterTokenMs.p99, 2)} ms · lag p99 ${n(r.scheduleLagMs.p99)} ms` +
    ` · CPU ${n(r.serverCpu.msPer1000Tokens, 2)} ms/1k tok${ratio}, ${n(r.serverCpu.percentOfCore, 0)}% · RSS ${n(r.serverMemory.bytesPerStream / 1024)} KiB/stream` +
    (r.serverRuntime ? ` · server ELD p99 ${n(r.serverRuntime.eventLoopDelayP99Ms)} ms, GC ${n(r.serverRuntime.gcSeconds, 2)} s` : '') +
    (r.kernel.listenOverflows ? ` · ${r.kernel.listenOverflows} SYNs dropped` : '') +
    ` · client ${r.client.cpuPercentOfCore.map((p) => n(p, 0)).join('/')}% ELD p99 ${n(r.client.eventLoopDelayP99Ms)} ms · machine ${n(r.machineBusyPercent, 0)}%` +
    (r.failed ? ` · ${r.failed} FAILED (${r.errors[0] ?? ''})` : '') +
    (r.warnings.some((w) => w.startsWith('load generator') || w.startsWith('machine')) ? ' · ⚠ harness-bound' : '')
  );
}

/** Attaches each tokenwire row's ratios to its baseline row (same phase, streams and rate). */
export function attachRatios(rows: StreamResult[], idle: IdleResult[]): void {
  const div = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? Math.round((a / b) * 100) / 100 : null);
  for (const r of rows) {
    if (r.target !== 'tokenwire' || r.wire === 'http') continue;
    const base = rows.find((b) => b.target === 'baseline' && b.wire === BASELINE_OF[r.wire as 'sse' | 'ws'] && b.phase === r.phase && b.streams === r.streams && b.tokensPerSecondPerStream === r.tokensPerSecondPerStream);
    if (!base) continue;
    r.vsBaseline = {
      cpuPerToken: div(r.serverCpu.msPer1000Tokens, base.serverCpu.msPer1000Tokens),
      addedInterTokenP99: div(r.addedInterTokenMs.p99, base.addedInterTokenMs.p99),
      addedInterTokenAllP99: div(r.addedInterTokenAllMs.p99, base.addedInterTokenAllMs.p99),
      ttftP99: div(r.ttftMs.p99, base.ttftMs.p99),
      bytesPerStream: div(r.serverMemory.bytesPerStream, base.serverMemory.bytesPerStream),
      throughput: div(r.throughput.tokensPerSecond, base.throughput.tokensPerSecond),
    };
  }
  for (const r of idle) {
    if (r.target !== 'tokenwire' || r.wire === 'http') continue;
    const base = idle.find((b) => b.target === 'baseline' && b.wire === BASELINE_OF[r.wire as 'sse' | 'ws']);
    if (base) r.vsBaseline = div(r.bytesPerConnection, base.bytesPerConnection);
  }
}

/** One stream phase: a warm-up per server and wire, then every level, tokenwire and baseline interleaved. */
export async function runStreamPhase(
  phase: StreamPhase,
  servers: Partial<Record<Target, ServerProcess>>,
  wires: ('sse' | 'ws')[],
  levels: { streams: number; rate: number; holdMs: number; rampMs?: number }[],
  options: BenchOptions,
  pool: ClientPool,
  out: StreamResult[],
  prompt: string,
  { warmUp = true }: { warmUp?: boolean } = {},
): Promise<void> {
  const pairs: [ServerProcess, Wire][] = [];
  for (const wire of wires) {
    if (servers.tokenwire) pairs.push([servers.tokenwire, wire]);
    if (servers.baseline) pairs.push([servers.baseline, BASELINE_OF[wire]]);
  }
  const rampOf = (streams: number) => Math.max(500, Math.round((streams * 1000) / options.rampPerSecond));
  // JIT and first-use allocations happen here rather than in the first measured level.
  const warm = options.quick ? { streams: 20, holdMs: 300 } : { streams: 100, holdMs: 2_000 };
  if (warmUp) say(`  warm-up (${pairs.length} × ${warm.streams} streams, not recorded)`);
  for (const [server, wire] of warmUp ? pairs : []) {
    const rate = levels[0]?.rate ?? options.rate;
    await measureLevel(server, wire, { phase, streams: warm.streams, tokensPerSecond: rate, rampMs: 100, holdMs: warm.holdMs, prompt }, pool);
  }
  for (const level of levels) {
    const spec: LevelSpec = { phase, streams: level.streams, tokensPerSecond: level.rate, rampMs: level.rampMs ?? rampOf(level.streams), holdMs: level.holdMs, prompt };
    say(`  [${phase} ${n(level.streams, 0)} streams × ${level.rate} tok/s = ${n(level.streams * level.rate, 0)} tok/s offered; ramp ${n(spec.rampMs / 1000)} s, hold ${n(spec.holdMs / 1000)} s]`);
    for (const [server, wire] of pairs) {
      await sleep(options.pauseMs);
      const result = await measureLevel(server, wire, spec, pool);
      out.push(result);
      attachRatios(out, []);
      say(progressLine(result));
    }
  }
}
