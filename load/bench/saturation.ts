import type { ClientPool } from './client-pool.js';
import { measureLevel } from './measure-level.js';
import type { ServerProcess } from './servers.js';
import { progressLine } from './stream-phase.js';
import { BASELINE_OF, type SaturationResult, type StreamResult, type Wire } from './types.js';

/** What the search looks for: the offered tokens/s at which added inter-token p99 crosses this. */
export const SATURATION_P99_MS = 10;

export interface SaturationSpec {
  ratePerStream: number;
  /** The first probe's streams; each next one has `growth` times as many until one fails. */
  fromStreams: number;
  growth: number;
  /** The most streams a probe may have (the server's socket budget). */
  maxStreams: number;
  /** Probes between the last pass and the first failure, each halving the gap. */
  bisections: number;
  holdMs: number;
  prompt: string;
}

interface Search {
  server: ServerProcess;
  wire: Wire;
  pass: number;
  fail: number | undefined;
  bisected: number;
  probes: SaturationResult['probes'];
  next: number | undefined;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The next probe's streams, or undefined when the search is over. */
function nextStreams(search: Search, spec: SaturationSpec, last: number, passed: boolean): number | undefined {
  if (passed) search.pass = Math.max(search.pass, last);
  else search.fail = Math.min(search.fail ?? Infinity, last);
  if (search.fail === undefined) {
    const grown = Math.round(last * spec.growth);
    return last >= spec.maxStreams ? undefined : Math.min(grown, spec.maxStreams);
  }
  if (search.bisected >= spec.bisections || search.fail - search.pass < 2) return undefined;
  search.bisected++;
  // The first probe failed: search below it.
  return search.pass === 0 ? Math.max(1, Math.round(search.fail / spec.growth)) : Math.round((search.pass + search.fail) / 2);
}

/**
 * The saturation search, per transport, tokenwire and its baseline in lockstep (one
 * probe of each in turn, so both see the same machine): levels of `streams × ratePerStream`
 * growing geometrically until added inter-token p99 passes SATURATION_P99_MS (or delivery
 * falls under 95 %, or a stream fails, twice in a row), then bisected. Every kept probe is
 * also a stream row.
 */
export async function runSaturation(servers: { tokenwire: ServerProcess; baseline?: ServerProcess | undefined }, wires: ('sse' | 'ws')[], spec: SaturationSpec, pool: ClientPool, rows: StreamResult[]): Promise<SaturationResult[]> {
  const searches: Search[] = [];
  for (const wire of wires) {
    searches.push({ server: servers.tokenwire, wire, pass: 0, fail: undefined, bisected: 0, probes: [], next: spec.fromStreams });
    if (servers.baseline) searches.push({ server: servers.baseline, wire: BASELINE_OF[wire], pass: 0, fail: undefined, bisected: 0, probes: [], next: spec.fromStreams });
  }
  while (searches.some((s) => s.next !== undefined)) {
    for (const search of searches) {
      const streams = search.next;
      if (streams === undefined) continue;
      const probe = () => measureLevel(search.server, search.wire, { phase: 'saturation', streams, tokensPerSecond: spec.ratePerStream, rampMs: Math.max(500, streams), holdMs: spec.holdMs, prompt: spec.prompt }, pool);
      const passes = (r: StreamResult) => r.addedInterTokenMs.p99 <= SATURATION_P99_MS && r.throughput.deliveredRatio >= 0.95 && r.failed === 0;
      let result = await probe();
      // The machine is shared: a failure counts only when a second probe at the same level fails too.
      if (!passes(result)) {
        say(`${progressLine(result)} · FAIL, probing again`);
        result = await probe();
      }
      rows.push(result);
      const p99 = result.addedInterTokenMs.p99;
      const passed = passes(result);
      search.probes.push({ streams, offeredTokensPerSecond: streams * spec.ratePerStream, addedInterTokenP99Ms: p99, deliveredRatio: result.throughput.deliveredRatio, failed: result.failed, passed });
      say(`${progressLine(result)} · ${passed ? 'pass' : 'FAIL'}`);
      search.next = nextStreams(search, spec, streams, passed);
    }
  }
  const results = searches.map(
    (s): SaturationResult => ({
      kind: 'saturation',
      target: s.server.target,
      wire: s.wire,
      ratePerStream: spec.ratePerStream,
      thresholdMs: SATURATION_P99_MS,
      tokensPerSecond: s.pass * spec.ratePerStream,
      failedAtTokensPerSecond: s.fail === undefined ? null : s.fail * spec.ratePerStream,
      probes: s.probes,
      vsBaseline: null,
    }),
  );
  for (const r of results) {
    if (r.target !== 'tokenwire') continue;
    const base = results.find((b) => b.target === 'baseline' && b.wire === BASELINE_OF[r.wire as 'sse' | 'ws']);
    if (base && base.tokensPerSecond > 0) r.vsBaseline = Math.round((r.tokensPerSecond / base.tokensPerSecond) * 100) / 100;
  }
  return results;
}
