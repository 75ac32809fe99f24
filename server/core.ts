import { hostname } from 'node:os';
import { TokenwireError } from '../shared/errors.js';
import type { ChatRequest, Transport } from '../shared/protocol.js';
import { createMemoryApprovalAudit, type ApprovalAudit } from './audit/approval-audit.js';
import type { ApprovalRecord } from './audit/approval-record.js';
import type { Authenticator } from './auth/authenticator.js';
import { createAuthenticator } from './auth/create-authenticator.js';
import type { Identity } from './auth/stream-access.js';
import type { Config } from './config.js';
import { createApprovalGate, type ApprovalGate } from './engine/approvals.js';
import { runChat } from './engine/run-chat.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createProvider } from './models/index.js';
import { clientKey, createMemoryClientLimits, type ClientLimits } from './limits/client-limits.js';
import type { ModelProvider } from './models/provider.js';
import { createModelLabel, observeStream } from './stream-metrics.js';
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
  /** Who a request comes from (AUTH, or the one passed in CoreParts). */
  readonly auth: Authenticator;
  /** Per-client stream limits. */
  readonly limits: ClientLimits;
  /** Approval decisions, for GET /api/streams/:id/approvals. */
  readonly audit: ApprovalAudit;
  /** This process's name in audit records (INSTANCE_ID, else host:pid). */
  readonly instanceId: string;
  /** True from `drain()` on: /readyz answers 503 and new chats get `server_shutdown`. */
  readonly draining: boolean;
  drain(): void;
  /**
   * Validates a chat's tools, admits it under the client's limits, creates its stream (with
   * its `start` frame, bound to the identity's subject) and starts the engine. Throws a
   * TokenwireError (`unknown_tool`, `too_many_streams`, `rate_limited`, `server_shutdown`)
   * before any stream exists. Without an identity no per-client limit applies (a web request
   * with neither a subject nor a `clientAddress`).
   */
  startChat(request: ChatRequest, options: { transport: Transport; clientId?: string; identity?: Identity }): Stream;
  /** Ends every stream with `server_shutdown` and waits for the engines, up to `deadlineMs`. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface CoreParts {
  log: Logger;
  metrics?: Metrics;
  provider?: ModelProvider;
  tools?: ToolRegistry;
  /** Replaces AUTH's built-in authenticator: e.g. one that reads your session cookie. */
  authenticator?: Authenticator;
  limits?: ClientLimits;
  audit?: ApprovalAudit;
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
  const auth = parts.authenticator ?? createAuthenticator(config, log);
  const limits = parts.limits ?? createMemoryClientLimits({ maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT, startsPerMinute: config.STREAM_STARTS_PER_MINUTE });
  const audit = parts.audit ?? createMemoryApprovalAudit(config.AUDIT_MAX_RECORDS);
  const instanceId = config.INSTANCE_ID ?? `${hostname()}:${process.pid}`;
  const modelLabel = createModelLabel();
  /** Each admitted stream's slot in its client's limit, released at `done`. */
  const releases = new Map<string, () => void>();
  let draining = false;
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
  const hub = createHub({
    store,
    ttlMs: config.STREAM_TTL_MS,
    maxGraceMs: config.MAX_RESUME_GRACE_MS,
    droppedGraceMs: config.SLOW_CONSUMER_GRACE_MS,
    maxStreams: config.MAX_STREAMS,
    onDone: (stream, frame) => {
      metrics.streamsDone.inc({ reason: frame.reason });
      metrics.streamsActive.dec();
      releases.get(stream.id)?.();
      releases.delete(stream.id);
    },
  });
  metrics.sources.retainedLogBytes = () => hub.retainedBytes();
  const auditApproval = (record: Omit<ApprovalRecord, 'instance'>) => {
    const full: ApprovalRecord = { ...record, instance: instanceId };
    audit.append(full);
    log.info({ audit: full }, 'approval decided');
  };
  const engine = {
    provider,
    approvals,
    metrics,
    log,
    maxToolRounds: config.MAX_TOOL_ROUNDS,
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
    toolTimeoutMs: config.TOOL_TIMEOUT_MS,
    auditApproval,
  };

  return {
    config,
    log,
    metrics,
    hub,
    tools,
    approvals,
    provider,
    auth,
    limits,
    audit,
    instanceId,
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
    startChat(request, { transport, clientId, identity }) {
      if (draining) throw new TokenwireError('server_shutdown');
      const selected = tools.select(request.tools ?? []);
      const release = identity ? limits.admitStream(clientKey(identity.subject, identity.address)) : undefined;
      const model = request.options?.model ?? provider.defaultModel;
      let stream: Stream;
      try {
        stream = hub.create({ model, transport, clientId, graceMs: request.options?.resumeGraceMs, subject: identity?.subject });
      } catch (error) {
        release?.();
        throw error;
      }
      if (release) releases.set(stream.id, release);
      observeStream(stream, metrics, { transport, model: modelLabel(model) });
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
      draining = true;
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
