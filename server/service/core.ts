import { TokenwireError } from '../../shared/errors.js';
import { createMemoryApprovalAudit, type ApprovalAudit } from '../engine/approval-audit.js';
import type { ApprovalRecord } from '../engine/approval-record.js';
import type { Authenticator } from '../access/authenticator.js';
import { createAuthenticator } from '../access/create-authenticator.js';
import type { Config } from '../settings/config.js';
import { createApprovalGate, type ApprovalGate } from '../engine/approvals.js';
import { createClientOutputGate } from '../engine/client-outputs.js';
import type { Fleet } from '../fleet/fleet.js';
import { instanceIdOf } from '../settings/instance.js';
import type { Logger } from '../observability/log.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createProvider } from '../models/index.js';
import { createMemoryClientLimits, type ClientLimits, type SharedClientLimits } from '../access/client-limits.js';
import { createStartPacer, type StartPacer } from '../access/start-pacer.js';
import type { ModelProvider } from '../models/provider.js';
import { createHub, type Hub, type Stream } from '../streams/hub.js';
import { createChatService, STARTS_PER_TURN, type ChatService } from './chat-service.js';
import type { ChatHooks } from './chat-hooks.js';
import { createStreamControl, type StreamControl } from './stream-control.js';
import { createMemoryStore } from '../streams/memory-store.js';
import { createMemoryStartKeys, type StartKeys } from '../streams/start-keys.js';
import type { StreamStore } from '../streams/stream-store.js';
import { createDemoTools } from '../tools/index.js';
import type { ToolRegistry } from '../tools/registry.js';

/**
 * The composition root of one tokenwire instance: it makes the parts once (metrics, model,
 * tools, store or fleet, hub, limits, audit) and composes the two services — the chat service
 * (admission, idempotent start, launch: chat-service.ts) and stream control (find, decide,
 * drain, shutdown: stream-control.ts). server/tokenwire.ts hands each edge the services it
 * calls and the few parts beside them; the hub, the gate and the fleet stay here.
 */
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
  /** Per-client stream limits (shared through Redis with a fleet). */
  readonly limits: ClientLimits | SharedClientLimits;
  /** Approval decisions, for GET /api/streams/:id/approvals. */
  readonly audit: ApprovalAudit;
  /** This process's name in audit records, logs, `start` frames and X-Tokenwire-Instance (INSTANCE_ID, else host:pid). */
  readonly instanceId: string;
  /** The instances this one shares streams with (REDIS_URL); undefined for one process on the memory store. */
  readonly fleet: Fleet | undefined;
  /** Starts chats: what the edges start streams through. */
  readonly chat: ChatService;
  /** Finds streams, decides their calls, takes client tools' outputs, drains and shuts down: what the edges control streams through. */
  readonly control: StreamControl;
  /**
   * Paces a burst's start work per turn of the event loop: `startChat` waits its
   * turn, and so does a transport's own per-start work (the WebSocket upgrade).
   */
  readonly startPacer: StartPacer;
}

export interface CoreParts {
  log: Logger;
  metrics?: Metrics;
  provider?: ModelProvider;
  tools?: ToolRegistry;
  /** Who a request comes from: the `auth` option's authenticator (the environment's AUTH one on the standalone server). */
  authenticator?: Authenticator;
  limits?: ClientLimits;
  audit?: ApprovalAudit;
  /** Where streams' logs live; the fleet's, else the memory store bounded by the config's byte budgets. */
  store?: StreamStore;
  /** The instances to share streams with (redisStore from tokenwire/redis, or REDIS_URL on the standalone server). */
  fleet?: Fleet;
  /** Chat starts' idempotency keys; the fleet's, else a bounded map in memory. */
  startKeys?: StartKeys;
  /** This process's name; INSTANCE_ID or host:pid by default. */
  instanceId?: string;
  /** The app's `prepareRequest`, `onFinish` and `onError` options. */
  hooks?: ChatHooks;
}

export function createCore(config: Config, parts: CoreParts): Core {
  /** Throws `store_unavailable` (503, retryable) while the shared store (Redis) is unreachable. */
  function storeAvailable(): void {
    if (fleet && !fleet.available) throw new TokenwireError('store_unavailable');
  }
  const metrics = parts.metrics ?? createMetrics();
  const provider = parts.provider ?? createProvider(config);
  const tools = parts.tools ?? createDemoTools();
  const fleet = parts.fleet;
  const approvals = createApprovalGate(fleet?.gateHooks ?? {});
  // Client tools' calls share the fleet's call records, so any instance can name a call's stream.
  const clientOutputs = createClientOutputGate(fleet?.gateHooks ?? {});
  const log = parts.log;
  const auth = parts.authenticator ?? createAuthenticator(config, log);
  const limits = parts.limits ?? fleet?.limits ?? createMemoryClientLimits({ maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT, startsPerMinute: config.STREAM_STARTS_PER_MINUTE });
  const audit = parts.audit ?? fleet?.audit ?? createMemoryApprovalAudit(config.AUDIT_MAX_RECORDS);
  const instanceId = parts.instanceId ?? instanceIdOf(config);
  /** Each admitted stream's slot in its client's limit, released at `done`. */
  const releases = new Map<string, () => void>();
  const store =
    parts.store ??
    fleet?.store ??
    createMemoryStore({
      maxStreamBytes: config.STREAM_MAX_BYTES,
      maxTotalBytes: config.STREAMS_MAX_RETAINED_BYTES,
      maxFrames: config.STREAM_MAX_FRAMES,
      onEvict: (kind) => metrics.streamsEvicted.inc({ kind }),
      onListenerError: (error, streamId) => log.error({ err: error, streamId }, 'stream listener failed'),
    });
  const hub = createHub({
    store,
    ttlMs: config.STREAM_TTL_MS,
    maxGraceMs: config.MAX_RESUME_GRACE_MS,
    droppedGraceMs: config.SLOW_CONSUMER_GRACE_MS,
    maxStreams: config.MAX_STREAMS,
    instanceId,
    ...(fleet ? { onCreate: (stream: Stream) => fleet.register(stream), remote: (id: string) => fleet.find(id) } : {}),
    onDone: (stream, frame) => {
      fleet?.finished(stream);
      metrics.streamsDone.inc({ reason: frame.reason });
      metrics.streamsActive.dec();
      releases.get(stream.id)?.();
      releases.delete(stream.id);
    },
  });
  fleet?.bind(hub, approvals, clientOutputs);
  metrics.sources.retainedLogBytes = () => hub.retainedBytes();
  // Kept streams are bounded by the hub and the TTL; four keys a stream slot is room for them all.
  const startKeys = parts.startKeys ?? fleet?.startKeys ?? createMemoryStartKeys(Math.max(1_024, config.MAX_STREAMS * 4));
  const pacer = createStartPacer(STARTS_PER_TURN);
  const auditApproval = (record: Omit<ApprovalRecord, 'instance'>) => {
    const full: ApprovalRecord = { ...record, instance: instanceId };
    audit.append(full);
    log.info({ audit: full }, 'approval decided');
  };

  let control: StreamControl | undefined;
  const chat = createChatService({
    config,
    log,
    metrics,
    hub,
    tools,
    approvals,
    provider,
    limits,
    startKeys,
    pacer,
    releases,
    auditApproval,
    clientOutputs,
    storeAvailable,
    draining: () => control?.draining ?? false,
    hooks: parts.hooks ?? {},
  });
  control = createStreamControl({ hub, approvals, clientOutputs, fleet, enginesIdle: chat.idle, onDrain: chat.stopStarts });

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
    fleet,
    chat: { startChat: chat.startChat },
    control,
    startPacer: pacer,
  };
}
