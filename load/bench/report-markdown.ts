import type { BenchResults, IdleResult, ProbeResult, SaturationResult, StreamResult } from './types.js';

const n = (v: number, digits = 2) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
const kib = (bytes: number) => n(bytes / 1024, 1);
const ratio = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '' : ` (${n(v)}×)`);
const verdict = (met: boolean | null) => (met === null ? '—' : met ? '✅ met' : '❌ not met');

function streamTable(rows: StreamResult[]): string {
  const head =
    '| level | server | wire | delivered tok/s (offered) | TTFT p50 / p99 ms | added ITL p50 / p99 ms | schedule lag p99 ms | server CPU ms per 1k tok | server CPU % | server ELD p99 ms · GC s | RSS per stream KiB | client CPU % per worker · ms per 1k tok | client ELD p99 ms | machine busy % | SYNs dropped | failed |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const lines = rows.map((r) =>
    [
      `${r.phase} ${n(r.streams)}×${r.tokensPerSecondPerStream}`,
      r.target,
      r.wire,
      `${n(r.throughput.tokensPerSecond, 0)} (${n(r.throughput.offeredTokensPerSecond, 0)})${ratio(r.vsBaseline?.throughput)}`,
      `${n(r.ttftMs.p50)} / ${n(r.ttftMs.p99)}${ratio(r.vsBaseline?.ttftP99)}`,
      `${n(r.addedInterTokenMs.p50)} / ${n(r.addedInterTokenMs.p99)}${ratio(r.vsBaseline?.addedInterTokenP99)}`,
      n(r.scheduleLagMs.p99),
      `${n(r.serverCpu.msPer1000Tokens, 1)}${ratio(r.vsBaseline?.cpuPerToken)}`,
      n(r.serverCpu.percentOfCore, 0),
      r.serverRuntime ? `${n(r.serverRuntime.eventLoopDelayP99Ms, 1)} · ${n(r.serverRuntime.gcSeconds, 2)}` : '',
      `${kib(r.serverMemory.bytesPerStream)}${ratio(r.vsBaseline?.bytesPerStream)}`,
      `${r.client.cpuPercentOfCore.map((p) => n(p, 0)).join(' / ')} · ${n(r.client.msPer1000Tokens, 1)}`,
      n(r.client.eventLoopDelayP99Ms, 1),
      n(r.machineBusyPercent, 0),
      n(r.kernel.listenOverflows, 0),
      r.failed ? `**${r.failed}**` : '0',
    ].join(' | '),
  );
  return [head, ...lines.map((l) => `| ${l} |`)].join('\n');
}

function idleTable(rows: IdleResult[]): string {
  const head = '| server | wire | connections open | per connection KiB (heap + native) | V8 heap per connection KiB | RSS per connection KiB | RSS before → after MiB | what idle means |\n| --- | --- | --- | --- | --- | --- | --- | --- |';
  const lines = rows.map(
    (r) =>
      `| ${r.target} | ${r.wire} | ${n(r.opened)}${r.failed ? ` (${r.failed} failed)` : ''} | **${kib(r.bytesPerConnection)}**${ratio(r.vsBaseline)} | ${r.heapBytesPerConnection === null ? '' : kib(r.heapBytesPerConnection)} | ${kib(r.rssBytesPerConnection)} | ${n(r.rssBeforeBytes / 2 ** 20, 1)} → ${n(r.rssAfterBytes / 2 ** 20, 1)} | ${r.method} |`,
  );
  return [head, ...lines].join('\n');
}

function saturationTable(rows: SaturationResult[]): string {
  const head = '| server | wire | saturates at tok/s | first failing tok/s | probes (offered tok/s: added ITL p99 ms, delivered %) |\n| --- | --- | --- | --- | --- |';
  const lines = rows.map(
    (r) =>
      `| ${r.target} | ${r.wire} | **${n(r.tokensPerSecond, 0)}**${ratio(r.vsBaseline)} | ${r.failedAtTokensPerSecond === null ? '—' : n(r.failedAtTokensPerSecond, 0)} | ${r.probes.map((p) => `${n(p.offeredTokensPerSecond, 0)}: ${n(p.addedInterTokenP99Ms, 1)}, ${n(100 * p.deliveredRatio, 0)}%${p.passed ? '' : ' ✗'}`).join(' · ')} |`,
  );
  return [head, ...lines].join('\n');
}

function probeTable(rows: ProbeResult[]): string {
  const head = '| what | wire | variant | samples | p50 ms | p99 ms | max ms | POST alone p50 ms | failures | note |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const lines = rows.map(
    (r) =>
      `| ${r.kind} | ${r.wire} | ${r.variant} | ${r.samples} | ${n(r.ms.p50)} | ${n(r.ms.p99)} | ${n(r.ms.max)} | ${r.postMs ? n(r.postMs.p50) : ''} | ${r.failures}${r.errors.length ? `: ${r.errors[0]}` : ''} | ${r.note} |`,
  );
  return [head, ...lines].join('\n');
}

/** The human-readable results: targets first, then every table, then the warnings. */
export function renderMarkdown(results: BenchResults, chartFile: string): string {
  const m = results.machine;
  const streams = results.results.filter((r): r is StreamResult => r.kind === 'stream');
  const idle = results.results.filter((r): r is IdleResult => r.kind === 'idle');
  const probes = results.results.filter((r): r is ProbeResult => r.kind === 'approval' || r.kind === 'disconnect' || r.kind === 'resume');
  const out: string[] = [];
  out.push(`# tokenwire bench: ${results.name}${results.quick ? ' (quick)' : ''}`);
  out.push('');
  out.push(`${m.date} · ${m.cpuModel}, ${m.cores} cores · Node ${m.nodeVersion} · ${m.platform} ${m.kernel} · load average at start ${m.loadAverageAtStart.join(' ')} · open files ${m.openFilesLimit} · took ${n(results.durationMs / 1000, 0)} s`);
  out.push('');
  out.push('Server and baseline each ran as their own process; the load generator ran as separate client processes on the same machine. Ratios in parentheses are tokenwire ÷ baseline at the same level (sse ↔ plain `res.write`, ws ↔ plain `ws.send`). Methodology and caveats: `load/bench/README.md`.');
  out.push('');
  out.push(`![chart](${chartFile})`);
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| target | measured | verdict | note |\n| --- | --- | --- | --- |');
  for (const t of results.targets) out.push(`| ${t.target} | ${t.measured} | ${verdict(t.met)} | ${t.note} |`);
  out.push('');
  if (streams.length) {
    out.push('## Streams');
    out.push('');
    out.push('TTFT: request start (new connection) to the first token. Added ITL: each gap between tokens received minus the scheduled gap (1/rate), tokens received in the steady window only, negatives counted as 0. Schedule lag: how far behind its stream\'s own schedule (first token + index/rate) a token arrived; it grows when a server falls behind even if the gaps look fine. CPU and RSS are the server process\'s, from /proc.');
    out.push('');
    out.push(streamTable(streams));
    const ws = streams.filter((r) => r.ttftOpenSocketMs);
    if (ws.length) {
      out.push('');
      out.push('WebSocket TTFT on an already open socket (from the `start` frame sent), p50 / p99 ms: ' + ws.map((r) => `${r.target} ${r.level} ${n(r.ttftOpenSocketMs?.p50 ?? 0)} / ${n(r.ttftOpenSocketMs?.p99 ?? 0)}`).join(' · '));
    }
    out.push('');
  }
  const saturation = results.results.filter((r): r is SaturationResult => r.kind === 'saturation');
  if (saturation.length) {
    out.push('## Saturation');
    out.push('');
    out.push(`The highest offered rate (streams × ${saturation[0]?.ratePerStream} tok/s) at which added inter-token p99 stayed at or under ${saturation[0]?.thresholdMs} ms with ≥ 95 % delivered and no failed stream; probes in order, ✗ where it did not.`);
    out.push('');
    out.push(saturationTable(saturation));
    out.push('');
  }
  if (idle.length) {
    out.push('## Memory per idle connection');
    out.push('');
    out.push(idleTable(idle));
    out.push('');
  }
  if (probes.length) {
    out.push('## Approval round trip and disconnect → upstream abort');
    out.push('');
    out.push(probeTable(probes));
    out.push('');
  }
  const warnings = [...results.warnings, ...streams.flatMap((r) => r.warnings.map((w) => `${r.phase} ${r.level} ${r.target}/${r.wire}: ${w}`))];
  if (warnings.length) {
    out.push('## Warnings');
    out.push('');
    for (const w of warnings) out.push(`- ${w}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
