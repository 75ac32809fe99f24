import type { ChatRequest, Transport } from '../shared/protocol.js';
import type { Config } from './config.js';
import { createApprovalGate, type ApprovalGate } from './engine/approvals.js';
import { runChat } from './engine/run-chat.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createProvider } from './models/index.js';
import type { ModelProvider } from './models/provider.js';
import { createHub, type Hub, type Stream } from './streams/hub.js';
import { createMemoryStore } from './streams/memory-store.js';
import { createStoreMetrics } from './streams/store-metrics.js';
import type { StreamStore } from './streams/stream-store.js';
import { createDemoTools } from './tools/index.js';
import type { ToolRegistry } from './tools/registry.js';

/** Everything a transport needs, made once per process: transports know the core, not the model. */
export interface Core {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly hub: Hub;
  readonly tools: ToolRegistry;
  readonly approvals: ApprovalGate;
  readonly provider: ModelProvider;
  /**
   * Validates a chat's tools, creates its stream (with its `start` frame) and starts the engine.
   * Throws a TokenwireError (`unknown_tool`, `too_many_streams`) before any stream exists.
   */
  startChat(request: ChatRequest, options: { transport: Transport; clientId?: string }): Stream;
  /** Ends every stream with `server_shutdown` and waits for the engines, up to `deadlineMs`. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface CoreParts {
  log: Logger;
  metrics?: Metrics;
  provider?: ModelProvider;
  tools?: ToolRegistry;
  /** Where streams' logs live; the memory store, bounded by the config's byte budgets, by default. */
  store?: StreamStore;
}

export function createCore(config: Config, parts: CoreParts): Core {
  const metrics = parts.metrics ?? createMetrics();
  const provider = parts.provider ?? createProvider(config);
  const tools = parts.tools ?? createDemoTools();
  const approvals = createApprovalGate();
  const log = parts.log;
  const running = new Set<Promise<void>>();
  const storeMetrics = createStoreMetrics(metrics.registry);
  const store =
    parts.store ??
    createMemoryStore({
      maxStreamBytes: config.STREAM_MAX_BYTES,
      maxTotalBytes: config.STREAMS_MAX_RETAINED_BYTES,
      maxFrames: config.STREAM_MAX_FRAMES,
      onEvict: (kind) => storeMetrics.evicted(kind),
      onListenerError: (error, streamId) => log.error({ err: error, streamId }, 'stream listener failed'),
    });
  storeMetrics.watch(store);
  const hub = createHub({
    store,
    ttlMs: config.STREAM_TTL_MS,
    maxGraceMs: config.MAX_RESUME_GRACE_MS,
    droppedGraceMs: config.SLOW_CONSUMER_GRACE_MS,
    maxStreams: config.MAX_STREAMS,
    onDone: (_stream, frame) => {
      metrics.streamsDone.inc({ reason: frame.reason });
      metrics.streamsActive.dec();
    },
  });
  const engine = {
    provider,
    approvals,
    metrics,
    log,
    maxToolRounds: config.MAX_TOOL_ROUNDS,
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
    toolTimeoutMs: config.TOOL_TIMEOUT_MS,
  };

  return {
    config,
    log,
    metrics,
    hub,
    tools,
    approvals,
    provider,
    startChat(request, { transport, clientId }) {
      const selected = tools.select(request.tools ?? []);
      const stream = hub.create({
        model: request.options?.model ?? provider.defaultModel,
        transport,
        clientId,
        graceMs: request.options?.resumeGraceMs,
      });
      metrics.streamsStarted.inc({ transport });
      metrics.streamsActive.inc();
      // Started on the next turn, so the caller can attach its view before the first frame.
      const run = Promise.resolve()
        .then(() => runChat(stream, request, selected, engine))
        .finally(() => running.delete(run));
      running.add(run);
      return stream;
    },
    async shutdown(deadlineMs) {
      hub.abortAll('shutdown');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
      hub.close();
    },
  };
}
