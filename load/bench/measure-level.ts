import type { ClientPool } from './client-pool.js';
import { summarize } from './histogram.js';
import { busyPercent, machineTicks, processRssBytes, tcpCounters } from './proc-stats.js';
import { runtimeBetween, scrapeMetrics } from './server-metrics.js';
import { cpuOf, sampleProcess } from './server-sampler.js';
import type { ServerProcess } from './servers.js';
import type { ClientCost, StreamPhase, StreamResult, Wire, WorkerReport } from './types.js';

export interface LevelSpec {
  phase: StreamPhase;
  streams: number;
  tokensPerSecond: number;
  /** Streams start evenly spread over the ramp. */
  rampMs: number;
  /** How long every stream runs at once after the ramp: the steady window. */
  holdMs: number;
  prompt: string;
}

/** Thresholds above which a level's figures say more about the load generator than the server. */
export const CLIENT_CPU_WARN_PERCENT = 85;
export const CLIENT_LAG_WARN_MS = 5;
export const MACHINE_BUSY_WARN_PERCENT = 95;

const round = (v: number, digits = 2) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : 0);

export function clientCost(reports: WorkerReport[], tokens: number): ClientCost {
  const cpuMs = reports.map((r) => r.cpuUserMs + r.cpuSystemMs);
  const total = cpuMs.reduce((a, b) => a + b, 0);
  return {
    workers: reports.length,
    cpuPercentOfCore: reports.map((r, i) => round((100 * (cpuMs[i] ?? 0)) / Math.max(1, r.wallMs), 1)),
    cpuSeconds: round(total / 1000, 3),
    msPer1000Tokens: tokens ? round((total * 1000) / tokens, 3) : 0,
    eventLoopDelayP99Ms: Math.max(0, ...reports.map((r) => r.eventLoopDelay.p99)),
    eventLoopDelayMaxMs: Math.max(0, ...reports.map((r) => r.eventLoopDelay.max)),
  };
}

/** Warnings that say when the figures are about the machine or the load generator, not the server. */
export function harnessWarnings(client: ClientCost, machineBusy: number): string[] {
  const warnings: string[] = [];
  const hot = client.cpuPercentOfCore.filter((p) => p >= CLIENT_CPU_WARN_PERCENT);
  if (hot.length) warnings.push(`load generator CPU-bound: ${hot.length} of ${client.workers} client workers at ≥${CLIENT_CPU_WARN_PERCENT}% of a core (${client.cpuPercentOfCore.join('%, ')}%)`);
  if (client.eventLoopDelayP99Ms > CLIENT_LAG_WARN_MS) warnings.push(`load generator event-loop delay p99 ${round(client.eventLoopDelayP99Ms, 1)} ms: latency figures include the client's own delay`);
  if (machineBusy >= MACHINE_BUSY_WARN_PERCENT) warnings.push(`machine CPU saturated (${round(machineBusy, 0)}% of all cores busy): server and load generator competed for CPU`);
  return warnings;
}

/**
 * Runs one stream level against one server and measures it: the clients' latencies and token
 * counts, the server's CPU (/proc/<pid>/stat) and RSS (/proc/<pid>/status), the client's own
 * CPU and event-loop delay, and how busy the whole machine was.
 */
export async function measureLevel(server: ServerProcess, wire: Wire, spec: LevelSpec, pool: ClientPool): Promise<StreamResult> {
  const tokensPerStream = Math.max(2, Math.round((spec.tokensPerSecond * (spec.rampMs + spec.holdMs)) / 1000));
  const streamMs = (tokensPerStream * 1000) / spec.tokensPerSecond;
  // The workers get their task before the first stream is due; the steady window leaves a
  // margin after the ramp and before the first streams end.
  const startAt = Date.now() + 200;
  const margin = Math.min(200, spec.holdMs / 4);
  const windowFrom = startAt + spec.rampMs + margin;
  const windowTo = startAt + spec.rampMs + spec.holdMs - margin;
  // An overloaded server gets half a stream's length again to finish; what is still open then
  // counts as failed ("still open at the deadline"), which keeps overload levels bounded in time.
  const deadline = startAt + spec.rampMs + 1.5 * streamMs + 5_000;

  const metrics0 = server.target === 'tokenwire' ? await scrapeMetrics(server.port) : null;
  const rssBefore = processRssBytes(server.pid);
  const rss = sampleProcess(server.pid);
  const cpu0 = cpuOf(server.pid);
  const machine0 = machineTicks();
  const tcp0 = tcpCounters();
  const wall0 = Date.now();
  let reports: WorkerReport[];
  try {
    reports = await pool.run({
      type: 'level',
      mode: 'stream',
      target: server.target,
      wire,
      port: server.port,
      totalStreams: spec.streams,
      startAt,
      rampMs: spec.rampMs,
      tokensPerStream,
      tokensPerSecond: spec.tokensPerSecond,
      windowFrom,
      windowTo,
      deadline,
      prompt: spec.prompt,
    });
  } finally {
    rss.stop();
  }
  const cpu1 = cpuOf(server.pid);
  const machine1 = machineTicks();
  const tcp1 = tcpCounters();
  const wallAll = Date.now() - wall0;
  const metrics1 = metrics0 ? await scrapeMetrics(server.port) : null;

  const tokens = reports.reduce((n, r) => n + r.tokens, 0);
  const inWindow = reports.reduce((n, r) => n + r.tokensInWindow, 0);
  const windowMs = windowTo - windowFrom;
  const cpuSeconds = cpu1 - cpu0;
  const rssSteady = rss.medianBetween(windowFrom, windowTo);
  const client = clientCost(reports, tokens);
  const machineBusy = busyPercent(machine0, machine1);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const tokensPerSecond = (inWindow * 1000) / windowMs;
  const offered = spec.streams * spec.tokensPerSecond;

  // NaN crosses IPC as null.
  const num = (v: number | null) => (v === null ? Number.NaN : v);
  const lastFirstToken = Math.max(...reports.map((r) => num(r.lastFirstTokenAt)).filter(Number.isFinite));
  const firstEnd = Math.min(...reports.map((r) => num(r.firstEndAt)).filter(Number.isFinite));
  const timeline: number[] = [];
  for (const r of reports) r.timeline.forEach((count, i) => (timeline[Math.floor(i / 10)] = (timeline[Math.floor(i / 10)] ?? 0) + count));
  const kernel = { listenOverflows: tcp1.listenOverflows - tcp0.listenOverflows, synRetransmits: tcp1.synRetransmits - tcp0.synRetransmits };

  const warnings = harnessWarnings(client, machineBusy);
  if (!(lastFirstToken <= windowFrom && firstEnd >= windowTo)) {
    warnings.push(`not every stream was running through the steady window (last first token at +${round((lastFirstToken - startAt) / 1000, 1)} s, window +${round((windowFrom - startAt) / 1000, 1)}–${round((windowTo - startAt) / 1000, 1)} s): fewer streams than the level's count were measured`);
  }
  if (kernel.listenOverflows > 0) warnings.push(`the kernel dropped ${kernel.listenOverflows} connection attempts (accept queue full; ${kernel.synRetransmits} SYN retransmits): connection setup, not streaming, set the TTFT tail`);
  const serverPercent = (100 * cpuSeconds * 1000) / wallAll;
  if (serverPercent >= 90) warnings.push(`server saturated one core (${round(serverPercent, 0)}% over the level)`);
  if (tokensPerSecond < 0.95 * offered) warnings.push(`delivered ${round((100 * tokensPerSecond) / offered, 0)}% of the offered ${offered} tokens/s in the steady window`);
  if (failed) warnings.push(`${failed} of ${spec.streams} streams failed: ${[...new Set(reports.flatMap((r) => r.errors))].slice(0, 3).join('; ')}`);

  return {
    kind: 'stream',
    phase: spec.phase,
    level: `${spec.streams}x${spec.tokensPerSecond}`,
    target: server.target,
    wire,
    streams: spec.streams,
    tokensPerSecondPerStream: spec.tokensPerSecond,
    tokensPerStream,
    rampMs: spec.rampMs,
    wallMs: Math.round(Math.max(...reports.map((r) => r.endedAt)) - startAt),
    opened: reports.reduce((n, r) => n + r.opened, 0),
    completed: reports.reduce((n, r) => n + r.completed, 0),
    failed,
    errors: [...new Set(reports.flatMap((r) => r.errors))].slice(0, 5),
    tokensDelivered: tokens,
    tokensExpected: tokensPerStream * spec.streams,
    coalescedTokens: reports.reduce((n, r) => n + r.coalesced, 0),
    throughput: { windowMs, tokensPerSecond: round(tokensPerSecond, 0), offeredTokensPerSecond: offered, deliveredRatio: round(tokensPerSecond / offered, 3) },
    allRunning: { fromMs: Math.round(lastFirstToken - startAt), toMs: Math.round(firstEnd - startAt) },
    timeline: timeline.map((v) => v ?? 0),
    serverCpuTimeline: rss.cpuTimeline(startAt),
    ttftMs: summarize(reports.map((r) => r.ttft)),
    ttftOpenSocketMs: wire === 'ws' ? summarize(reports.map((r) => r.ttftOpenSocket)) : null,
    addedInterTokenMs: summarize(reports.map((r) => r.addedSteady)),
    addedInterTokenAllMs: summarize(reports.map((r) => r.addedAll)),
    scheduleLagMs: summarize(reports.map((r) => r.lagSteady)),
    serverCpu: { seconds: round(cpuSeconds, 3), percentOfCore: round(serverPercent, 1), msPer1000Tokens: tokens ? round((cpuSeconds * 1e6) / tokens, 3) : 0 },
    serverRuntime: runtimeBetween(metrics0, metrics1),
    kernel,
    serverMemory: {
      rssBeforeBytes: rssBefore,
      rssSteadyBytes: rssSteady,
      rssPeakBytes: rss.peak,
      bytesPerStream: Math.round((rssSteady - rssBefore) / spec.streams),
    },
    client,
    machineBusyPercent: round(machineBusy, 1),
    vsBaseline: null,
    warnings,
  };
}
