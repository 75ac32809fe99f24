import type { HistogramData, Percentiles } from './histogram.js';

/** Which server a measurement ran against. */
export type Target = 'tokenwire' | 'baseline';

/**
 * How the client talks to the server. tokenwire: `sse` (POST /api/chat) and `ws` (/ws).
 * baseline: `http` (POST /chat, one `res.write` per token, newline-terminated text, no
 * protocol) and `ws` (/ws, one text message per token). Each tokenwire transport is compared
 * with its baseline counterpart: sse ↔ http, ws ↔ ws.
 */
export type Wire = 'sse' | 'ws' | 'http';

export const BASELINE_OF: Record<'sse' | 'ws', Wire> = { sse: 'http', ws: 'ws' };

// ---------------------------------------------------------------------------------------------
// Coordinator ↔ client worker messages (child_process IPC).

/** One level's share for one worker: which streams it opens and when. */
export interface LevelTask {
  type: 'level';
  mode: 'stream' | 'idle';
  target: Target;
  wire: Wire;
  port: number;
  /** Streams in the whole level, and the global indexes this worker runs: worker, worker + workers, … */
  totalStreams: number;
  worker: number;
  workers: number;
  /** Epoch ms when stream 0 starts; stream g starts at startAt + g * rampMs / totalStreams. */
  startAt: number;
  rampMs: number;
  tokensPerStream: number;
  tokensPerSecond: number;
  /** Epoch ms window in which every stream should be running: throughput and steady latency. */
  windowFrom: number;
  windowTo: number;
  /** Epoch ms after which the worker gives up on whatever is still open and reports. */
  deadline: number;
  /** The user message every stream sends: the same text gives the same tokens on both servers. */
  prompt: string;
}

export interface ReleaseTask {
  type: 'release';
}

export interface ExitTask {
  type: 'exit';
}

export type WorkerTask = LevelTask | ReleaseTask | ExitTask;

/** A worker's measurements of one level. */
export interface WorkerReport {
  type: 'report';
  worker: number;
  opened: number;
  completed: number;
  failed: number;
  /** First few distinct failure descriptions. */
  errors: string[];
  tokens: number;
  tokensInWindow: number;
  /** Tokens that arrived in the same chunk as an earlier token of their stream (frames the server joined). */
  coalesced: number;
  ttft: HistogramData;
  /** ws only: from the `start` frame sent on an open socket to the first token. */
  ttftOpenSocket: HistogramData;
  /** Added inter-token latency of tokens received inside the steady window. */
  addedSteady: HistogramData;
  /** Added inter-token latency of every token. */
  addedAll: HistogramData;
  /** Steady-window tokens: how far behind their stream's own schedule (from its first token) they arrived. */
  lagSteady: HistogramData;
  /** Epoch ms of the last stream's end (or of the deadline). */
  endedAt: number;
  /** Epoch ms when this worker's last stream got its first token, and when its first stream ended (NaN: none). */
  lastFirstTokenAt: number;
  firstEndAt: number;
  /** Tokens received per 100 ms since `startAt`. */
  timeline: number[];
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  eventLoopDelay: { p50: number; p99: number; max: number };
}

/** Sent in idle mode once every connection is open (or failed); the worker then holds them until `release`. */
export interface WorkerOpened {
  type: 'opened';
  worker: number;
  opened: number;
  failed: number;
  errors: string[];
}

export interface WorkerReady {
  type: 'ready';
  worker: number;
}

export type WorkerMessage = WorkerReport | WorkerOpened | WorkerReady;

// ---------------------------------------------------------------------------------------------
// The results file (load/results/<name>.json). README.md documents every field.

export interface ClientCost {
  workers: number;
  /** Per worker: CPU time over wall time of the level, as % of one core. */
  cpuPercentOfCore: number[];
  cpuSeconds: number;
  /** Client CPU per 1,000 tokens received, ms (all workers). */
  msPer1000Tokens: number;
  /** The worst worker's event-loop delay, ms (perf_hooks.monitorEventLoopDelay). */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

/** latency: a ramp, then a hold; throughput: high rates; burst: every stream opened at once; saturation: the search's probes. */
export type StreamPhase = 'latency' | 'throughput' | 'burst' | 'saturation';

export interface StreamResult {
  kind: 'stream';
  phase: StreamPhase;
  level: string;
  target: Target;
  wire: Wire;
  streams: number;
  tokensPerSecondPerStream: number;
  tokensPerStream: number;
  rampMs: number;
  wallMs: number;
  opened: number;
  completed: number;
  failed: number;
  errors: string[];
  tokensDelivered: number;
  tokensExpected: number;
  coalescedTokens: number;
  throughput: { windowMs: number; tokensPerSecond: number; offeredTokensPerSecond: number; deliveredRatio: number };
  ttftMs: Percentiles;
  ttftOpenSocketMs: Percentiles | null;
  addedInterTokenMs: Percentiles;
  addedInterTokenAllMs: Percentiles;
  /** Steady window: arrival minus (first token + index / rate), negatives as 0. */
  scheduleLagMs: Percentiles;
  /** Epoch-relative to the level start (ms): when every stream had its first token, and when the first one ended. */
  allRunning: { fromMs: number; toMs: number };
  /** Tokens received per second, in 1-second steps from the level start. */
  timeline: number[];
  /** The server's CPU in each of those seconds, % of one core (from 250 ms /proc samples). */
  serverCpuTimeline: number[];
  serverCpu: { seconds: number; percentOfCore: number; msPer1000Tokens: number };
  /** tokenwire only, from its /metrics (prom-client): event-loop delay over the level, GC time. */
  serverRuntime: { eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number; gcSeconds: number; gcMajorSeconds: number } | null;
  /** Machine-wide TCP counters over the level (/proc/net/netstat): accept-queue overflows and SYN retransmits. */
  kernel: { listenOverflows: number; synRetransmits: number };
  serverMemory: { rssBeforeBytes: number; rssSteadyBytes: number; rssPeakBytes: number; bytesPerStream: number };
  client: ClientCost;
  machineBusyPercent: number;
  /** tokenwire rows: this row's figure divided by the baseline row of the same level and wire pair. */
  vsBaseline: {
    cpuPerToken: number | null;
    addedInterTokenP99: number | null;
    /** Every token, not only the steady window's: what a burst judges. */
    addedInterTokenAllP99: number | null;
    ttftP99: number | null;
    bytesPerStream: number | null;
    throughput: number | null;
  } | null;
  warnings: string[];
}

export interface IdleResult {
  kind: 'idle';
  target: Target;
  wire: Wire;
  connections: number;
  opened: number;
  failed: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Per connection: V8 heap in use + native (RSS growth beyond the heap's committed growth), after forced full GCs. */
  bytesPerConnection: number;
  /** (RSS after − RSS before) / opened: undercounts while new objects fill heap pages already resident. */
  rssBytesPerConnection: number;
  /** V8 heap in use alone (JS objects; sockets' native memory is not in it). */
  heapBytesPerConnection: number | null;
  /** What "idle" means for this wire. */
  method: string;
  vsBaseline: number | null;
  errors: string[];
}

export interface ProbeResult {
  kind: 'approval' | 'disconnect' | 'resume';
  wire: Wire;
  variant: string;
  samples: number;
  failures: number;
  ms: Percentiles;
  /** SSE approvals: the POST /api/approvals/:callId request alone. */
  postMs: Percentiles | null;
  note: string;
  errors: string[];
}

/**
 * The saturation search: the highest offered tokens/s (streams × `ratePerStream`)
 * at which added inter-token p99 stayed at or under `thresholdMs`, with ≥ 95 % delivered and no
 * stream failed; its probes are the `saturation` stream rows.
 */
export interface SaturationResult {
  kind: 'saturation';
  target: Target;
  wire: Wire;
  ratePerStream: number;
  thresholdMs: number;
  /** The highest passing offered rate; 0 when even the first probe failed. */
  tokensPerSecond: number;
  /** The lowest failing offered rate, or null when the search reached its ceiling. */
  failedAtTokensPerSecond: number | null;
  probes: { streams: number; offeredTokensPerSecond: number; addedInterTokenP99Ms: number; deliveredRatio: number; failed: number; passed: boolean }[];
  /** tokenwire ÷ baseline saturation point, same wire pair. */
  vsBaseline: number | null;
}

export interface TargetVerdict {
  target: string;
  goal: string;
  measured: string;
  met: boolean | null;
  note: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  nodeVersion: string;
  platform: string;
  kernel: string;
  totalMemoryBytes: number;
  loadAverageAtStart: number[];
  openFilesLimit: string;
  date: string;
}

export interface BenchResults {
  schema: 'tokenwire-bench/1';
  name: string;
  quick: boolean;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  results: (StreamResult | IdleResult | ProbeResult | SaturationResult)[];
  targets: TargetVerdict[];
  warnings: string[];
  durationMs: number;
}
