import { BASELINE_OF, type IdleResult, type SaturationResult, type StreamResult, type TargetVerdict } from './types.js';

/** The targets (ratios to the baseline), on a 2-core machine with the simulated model. */
export const GOALS = {
  latencyStreams: 2_000,
  latencyRate: 30,
  latencyP99Ms: 5,
  tokensPerSecond: 150_000,
  /** CPU per token ÷ baseline at these latency levels. */
  cpuRatio: 1.1,
  cpuLevels: [100, 1_000],
  /** a burst of this many streams, TTFT p99 and added inter-token p99 ÷ baseline. */
  burstStreams: 1_000,
  burstRatio: 1.25,
  /** share of the offered tokens delivered at 2,000 × 30. */
  deliveredAt2000: 0.95,
  /** idle memory per connection ÷ baseline. */
  idleRatio: { sse: 1.2, ws: 1.5 },
  /** saturation point ÷ baseline, at least. */
  saturationRatio: 0.9,
} as const;

const fmt = (v: number, digits = 2) => v.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Judges the results against the targets; `met` is null when the bench did not measure it. */
export function judge(streams: StreamResult[], idle: IdleResult[], wires: ('sse' | 'ws')[], saturation: SaturationResult[] = []): TargetVerdict[] {
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
    const rows = tw.filter((r) => r.wire === wire && (r.phase === 'latency' || r.phase === 'throughput'));
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
    const base = idle.find((r) => r.target === 'baseline' && r.wire === BASELINE_OF[wire]);
    const goal = GOALS.idleRatio[wire];
    verdicts.push({
      target: `${wire}: memory per idle connection ≤ ${goal}× the baseline's`,
      goal: `≤ ${goal}×`,
      measured: row ? `${fmt(row.bytesPerConnection / 1024, 1)} KiB${base ? ` vs ${fmt(base.bytesPerConnection / 1024, 1)} KiB: ${fmt(row.vsBaseline ?? 0)}×` : ''} (${fmt(row.opened)} connections)` : 'not measured',
      met: row?.vsBaseline != null ? row.vsBaseline <= goal && row.failed === 0 : null,
      note: row?.method ?? '',
    });
  }

  for (const wire of wires) {
    const rows = tw.filter((r) => r.wire === wire && r.phase === 'latency' && r.tokensPerSecondPerStream === GOALS.latencyRate && r.vsBaseline?.cpuPerToken != null);
    const judged = rows.filter((r) => (GOALS.cpuLevels as readonly number[]).includes(r.streams));
    const worst = Math.max(0, ...judged.map((r) => r.vsBaseline?.cpuPerToken ?? 0));
    const all = tw.filter((r) => r.wire === wire && r.vsBaseline?.cpuPerToken != null && (r.phase === 'latency' || r.phase === 'throughput'));
    verdicts.push({
      target: `${wire}: server CPU per token ≤ ${GOALS.cpuRatio}× the baseline at ${GOALS.cpuLevels.map((l) => `${fmt(l)}×${GOALS.latencyRate}`).join(' and ')}`,
      goal: `≤ ${GOALS.cpuRatio}×`,
      measured: all.length ? all.map((r) => `${r.level}: ${fmt(r.vsBaseline?.cpuPerToken ?? 0)}×${judged.includes(r) ? '' : ' (not judged)'}`).join(', ') : 'not measured',
      met: judged.length ? worst <= GOALS.cpuRatio : null,
      note: wire === 'sse' ? 'baseline: plain Express res.write per token' : 'baseline: plain ws.send per token',
    });
  }

  for (const wire of wires) {
    const row = tw.find((r) => r.wire === wire && r.phase === 'burst' && r.streams === GOALS.burstStreams);
    const ttft = row?.vsBaseline?.ttftP99;
    const itl = row?.vsBaseline?.addedInterTokenAllP99;
    verdicts.push({
      target: `${wire}: burst of ${fmt(GOALS.burstStreams)} streams, TTFT p99 and added inter-token p99 ≤ ${GOALS.burstRatio}× the baseline's`,
      goal: `≤ ${GOALS.burstRatio}×`,
      measured: row ? `TTFT p99 ${fmt(row.ttftMs.p99, 1)} ms (${fmt(ttft ?? 0)}×), added ITL p99 ${fmt(row.addedInterTokenAllMs.p99, 1)} ms (${fmt(itl ?? 0)}×), ${row.failed} failed` : 'not measured',
      met: ttft != null && itl != null ? ttft <= GOALS.burstRatio && itl <= GOALS.burstRatio && row?.failed === 0 : null,
      note: 'every stream opened at once; added ITL over all tokens (the burst is not in a steady window)',
    });
  }

  for (const wire of wires) {
    const row = tw.find((r) => r.wire === wire && r.phase === 'latency' && r.streams === GOALS.latencyStreams && r.tokensPerSecondPerStream === GOALS.latencyRate);
    verdicts.push({
      target: `${wire}: ${fmt(GOALS.latencyStreams)} × ${GOALS.latencyRate}, ≥ ${fmt(100 * GOALS.deliveredAt2000, 0)} % of the offered tokens delivered`,
      goal: `≥ ${fmt(100 * GOALS.deliveredAt2000, 0)} %`,
      measured: row ? `${fmt(100 * row.throughput.deliveredRatio, 1)} % (${fmt(row.throughput.tokensPerSecond, 0)} of ${fmt(row.throughput.offeredTokensPerSecond, 0)} tok/s), ${row.failed} failed` : 'not measured',
      met: row ? row.throughput.deliveredRatio >= GOALS.deliveredAt2000 && row.failed === 0 : null,
      note: '',
    });
  }

  for (const wire of wires) {
    const row = saturation.find((r) => r.target === 'tokenwire' && r.wire === wire);
    const base = saturation.find((r) => r.target === 'baseline' && r.wire === BASELINE_OF[wire]);
    verdicts.push({
      target: `${wire}: saturation point (added inter-token p99 > ${row?.thresholdMs ?? 10} ms) within 10 % of the baseline's`,
      goal: `≥ ${GOALS.saturationRatio}×`,
      measured: row ? `${fmt(row.tokensPerSecond, 0)} tok/s${base ? ` vs ${fmt(base.tokensPerSecond, 0)}: ${fmt(row.vsBaseline ?? 0)}×` : ''}` : 'not measured',
      met: row?.vsBaseline != null ? row.vsBaseline >= GOALS.saturationRatio : null,
      note: row ? `streams × ${row.ratePerStream} tok/s, ${row.probes.length} probes each` : '',
    });
  }
  return verdicts;
}
