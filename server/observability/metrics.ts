import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createTokenHistogram } from './token-histogram.js';

/**
 * The process's Prometheus metrics, on their own registry so tests can make several; `registry`
 * (a WORKERS=N worker's, cluster-metrics.ts) replaces the plain one.
 */
export function createMetrics(options: { defaults?: boolean; registry?: Registry } = {}) {
  const registry = options.registry ?? new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry });
  /** What the retained-bytes gauge reads at scrape time; the core points it at its hub. */
  const sources = { retainedLogBytes: (): number => 0, wsBufferedBytesMax: (): number => 0 };
  /** Counted on the per-token path as a plain number, added to its counter at each scrape. */
  const tally = { tokens: 0 };
  return {
    registry,
    sources,
    tally,
    ...createLlmMetrics(registry, sources),
    streamsStarted: new Counter({
      name: 'tokenwire_streams_started_total',
      help: 'Streams started, by transport.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    startReplays: new Counter({
      name: 'tokenwire_start_replays_total',
      help: 'Chat starts answered with the stream an earlier start with the same Idempotency-Key made, by transport.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    streamsActive: new Gauge({
      name: 'tokenwire_streams_active',
      help: 'Streams still generating.',
      registers: [registry],
    }),
    streamsDone: new Counter({
      name: 'tokenwire_streams_done_total',
      help: 'Streams ended, by done reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'tokenwire_tokens_total',
      help: 'Text deltas received from the model.',
      registers: [registry],
      collect() {
        if (tally.tokens === 0) return;
        this.inc(tally.tokens);
        tally.tokens = 0;
      },
    }),
    tokensAfterDisconnect: new Counter({
      name: 'tokenwire_tokens_after_disconnect_total',
      help: 'Text deltas the model produced after the stream was aborted: billed, never read.',
      registers: [registry],
    }),
    upstreamAborts: new Counter({
      name: 'tokenwire_upstream_aborts_total',
      help: 'Upstream model requests aborted, by cause.',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
    approvals: new Counter({
      name: 'tokenwire_approvals_total',
      help: 'Tool call decisions, by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Seconds; token timings of streaming LLM output sit between a few ms and tens of seconds. */
const TTFT_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const GAP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const WAIT_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const ABORT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** What operators of LLM streaming ask for: token timing, resumes, approvals, aborts, drops, errors. */
function createLlmMetrics(registry: Registry, sources: { retainedLogBytes: () => number; wsBufferedBytesMax: () => number }) {
  return {
    // Observed per token: the cheap histogram (prom-client's observe hashes labels every call).
    timeToFirstToken: createTokenHistogram({
      name: 'tokenwire_time_to_first_token_seconds',
      help: 'From a stream being accepted to its first token, by transport and model.',
      labelNames: ['transport', 'model'] as const,
      buckets: TTFT_BUCKETS,
      registry,
    }),
    interTokenGap: createTokenHistogram({
      name: 'tokenwire_inter_token_seconds',
      help: 'Gaps between consecutive tokens of a model turn, by transport and model.',
      labelNames: ['transport', 'model'] as const,
      buckets: GAP_BUCKETS,
      registry,
    }),
    connectionsOpen: new Gauge({
      name: 'tokenwire_connections_open',
      help: 'Open streaming connections: SSE responses and WebSocket sessions.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    resumes: new Counter({
      name: 'tokenwire_resumes_total',
      help: 'Views of an existing stream opened again (Last-Event-ID, WebSocket resume).',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    replayedFrames: new Counter({
      name: 'tokenwire_replayed_frames_total',
      help: 'Frames sent again from the log to resumed views.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    approvalWait: new Histogram({
      name: 'tokenwire_approval_wait_seconds',
      help: 'From a tool call shown for approval to its decision, by outcome (approved, denied, expired).',
      labelNames: ['outcome'] as const,
      buckets: WAIT_BUCKETS,
      registers: [registry],
    }),
    abortLatency: new Histogram({
      name: 'tokenwire_abort_latency_seconds',
      help: 'From a cancel, disconnect or drop to the engine stopping the upstream request, by cause.',
      labelNames: ['cause'] as const,
      buckets: ABORT_BUCKETS,
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: 'tokenwire_slow_consumers_total',
      help: 'Views dropped with slow_consumer, by transport.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    streamsEvicted: new Counter({
      name: 'tokenwire_streams_evicted_total',
      help: 'Streams that lost frames before their time to live: finished (evicted oldest first), live (trimmed for the total budget), stream_cap (past STREAM_MAX_BYTES or STREAM_MAX_FRAMES).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    wsBufferedBytesMax: new Gauge({
      name: 'tokenwire_ws_buffered_bytes_max',
      help: 'The most bytes waiting for one WebSocket peer (socket buffer + coalescing queue).',
      registers: [registry],
      // Across WORKERS=N processes the most of any one, not their sum.
      aggregator: 'max',
      collect() {
        this.set(sources.wsBufferedBytesMax());
      },
    }),
    errors: new Counter({
      name: 'tokenwire_errors_total',
      help: 'Errors sent to clients (HTTP error responses, error frames), by code.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    retainedLogBytes: new Gauge({
      name: 'tokenwire_retained_log_bytes',
      help: 'Bytes of frames kept in stream logs for replay and resume.',
      registers: [registry],
      collect() {
        this.set(sources.retainedLogBytes());
      },
    }),
  };
}
