import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus metrics, on their own registry so tests can make several. */
export function createMetrics(options: { defaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    streamsStarted: new Counter({
      name: 'tokenwire_streams_started_total',
      help: 'Streams started, by transport.',
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
