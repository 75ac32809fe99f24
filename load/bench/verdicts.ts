import type { IdleResult, StreamResult, TargetVerdict } from './types.js';

/** The targets, on a 2-core machine with the simulated model. */
export const GOALS = {
  latencyStreams: 2_000,
  latencyRate: 30,
  latencyP99Ms: 5,
  tokensPerSecond: 150_000,
  idleBytes: 16 * 1024,
  cpuRatio: 1.3,
} as const;

const fmt = (v: number, digits = 2) => v.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Judges the results against the targets; `met` is null when the bench did not measure it. */
export function judge(streams: StreamResult[], idle: IdleResult[], wires: ('sse' | 'ws')[]): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const tw = streams.filter((r) => r.target === 'tokenwire');

  for (const wire of wires) {
    const rows = tw.filter((r) => r.wire === wire && r.phase === 'latency' && r.tokensPerSecondPerStream === GOALS.latencyRate);
    const row = rows.filter((r) => r.streams >= GOALS.latencyStreams).sort((a, b) => a.streams - b.streams)[0];
    const largest = rows.reduce((n, r) => Math.max(n, r.streams), 0);
    verdicts.push(
      row
        ? {
            target: `${wire}: ${fmt(GOALS.latencyStreams)} streams × ${GOALS.latencyRate} tok/s, added inter-token p99 < ${GOALS.latencyP99Ms} ms`,
            goal: `< ${GOALS.latencyP99Ms} ms`,
            measured: `p99 ${fmt(row.addedInterTokenMs.p99)} ms at ${fmt(row.streams)} streams (${row.failed} failed, ${fmt(100 * row.throughput.deliveredRatio, 0)}% delivered)`,
            met: row.addedInterTokenMs.p99 < GOALS.latencyP99Ms && row.failed === 0 && row.throughput.deliveredRatio >= 0.95,
            note: row.warnings.filter((w) => w.startsWith('load generator') || w.startsWith('machine')).join('; '),
          }
        : {
            target: `${wire}: ${fmt(GOALS.latencyStreams)} streams × ${GOALS.latencyRate} tok/s, added inter-token p99 < ${GOALS.latencyP99Ms} ms`,
            goal: `< ${GOALS.latencyP99Ms} ms`,
            measured: rows.length ? `not run at ${fmt(GOALS.latencyStreams)} streams (largest level: ${fmt(largest)})` : 'not measured',
            met: null,
            note: 'run the full bench (or --levels with 2000)',
          },
    );
  }

  for (const wire of wires) {
    const rows = tw.filter((r) => r.wire === wire);
    const best = rows.sort((a, b) => b.throughput.tokensPerSecond - a.throughput.tokensPerSecond)[0];
    // A run that never offered the target rate (quick mode) cannot judge it: not measured, not failed.
    const offered = Math.max(0, ...rows.map((r) => r.throughput.offeredTokensPerSecond));
    const judgeable = best !== undefined && offered >= GOALS.tokensPerSecond;
    verdicts.push({
      target: `${wire}: at least ${fmt(GOALS.tokensPerSecond)} tokens/s delivered`,
      goal: `≥ ${fmt(GOALS.tokensPerSecond)} tokens/s`,
      measured: best ? `${fmt(best.throughput.tokensPerSecond, 0)} tokens/s at ${best.level} (offered ${fmt(best.throughput.offeredTokensPerSecond, 0)})` : 'not measured',
      met: judgeable ? best.throughput.tokensPerSecond >= GOALS.tokensPerSecond : null,
      note: !best
        ? ''
        : judgeable
          ? best.warnings.filter((w) => !w.startsWith('delivered')).join('; ')
          : `this run offered at most ${fmt(offered, 0)} tokens/s: run the full bench to judge it`,
    });
  }

  for (const wire of wires) {
    const row = idle.find((r) => r.target === 'tokenwire' && r.wire === wire);
    verdicts.push({
      target: `${wire}: memory per idle connection under 16 KiB`,
      goal: '< 16 KiB',
      measured: row ? `${fmt(row.bytesPerConnection / 1024, 1)} KiB (${fmt(row.opened)} connections)` : 'not measured',
      met: row ? row.bytesPerConnection < GOALS.idleBytes && row.failed === 0 : null,
      note: row?.method ?? '',
    });
  }

  for (const wire of wires) {
    const rows = tw.filter((r) => r.wire === wire && r.vsBaseline?.cpuPerToken != null);
    // Judged where tokenwire kept up (≥ 90 % delivered): an overloaded server's CPU per token
    // mixes in GC and catch-up work; those levels are listed but not judged.
    const kept = rows.filter((r) => r.throughput.deliveredRatio >= 0.9);
    const judged = kept.length ? kept : rows;
    const ratios = rows.map((r) => `${r.level}: ${fmt(r.vsBaseline?.cpuPerToken ?? 0)}×${kept.length && !kept.includes(r) ? ' (overloaded, not judged)' : ''}`);
    const worst = Math.max(0, ...judged.map((r) => r.vsBaseline?.cpuPerToken ?? 0));
    verdicts.push({
      target: `${wire}: server CPU per token within ${GOALS.cpuRatio}× of the baseline`,
      goal: `≤ ${GOALS.cpuRatio}×`,
      measured: rows.length ? ratios.join(', ') : 'not measured',
      met: rows.length ? worst <= GOALS.cpuRatio : null,
      note: wire === 'sse' ? 'baseline: plain Express res.write per token' : 'baseline: plain ws.send per token',
    });
  }
  return verdicts;
}
