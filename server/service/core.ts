import { isTokenwireError, TokenwireError } from '../../shared/errors.js';
import type { ChatRequest, Transport } from '../../shared/protocol.js';
import { createMemoryApprovalAudit, type ApprovalAudit } from '../engine/approval-audit.js';
import type { ApprovalRecord } from '../engine/approval-record.js';
import type { Authenticator } from '../access/authenticator.js';
import { createAuthenticator } from '../access/create-authenticator.js';
import type { Identity } from '../access/stream-access.js';
import type { Config } from '../settings/config.js';
import { createApprovalGate, type ApprovalGate } from '../engine/approvals.js';
import type { DecideRequest, Fleet } from '../fleet/fleet.js';
import { instanceIdOf } from '../settings/instance.js';
import { runChat } from '../engine/run-chat.js';
import type { Logger } from '../observability/log.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createProvider } from '../models/index.js';
import { clientKey, createMemoryClientLimits, type ClientLimits, type SharedClientLimits } from '../access/client-limits.js';
import { createStartPacer, type StartPacer } from '../access/start-pacer.js';
import type { ModelProvider } from '../models/provider.js';
import { createModelLabel, observeStream } from '../observability/stream-metrics.js';
import { createHub, type Hub, type Stream, type StreamLog } from '../streams/hub.js';
import { createMemoryStore } from '../streams/memory-store.js';
import { createMemoryStartKeys, requestFingerprint, scopedStartKey, type StartKeys, type StartRecord } from '../streams/start-keys.js';
import type { StreamStore } from '../streams/stream-store.js';
import { createDemoTools } from '../tools/index.js';
import type { ToolRegistry } from '../tools/registry.js';

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
  /** Per-client stream limits (shared through Redis with a fleet). */
  readonly limits: ClientLimits | SharedClientLimits;
  /** Approval decisions, for GET /api/streams/:id/approvals. */
  readonly audit: ApprovalAudit;
  /** This process's name in audit records, logs, `start` frames and X-Tokenwire-Instance (INSTANCE_ID, else host:pid). */
  readonly instanceId: string;
  /** The instances this one shares streams with (REDIS_URL); undefined for one process on the memory store. */
  readonly fleet: Fleet | undefined;
  /** A stream by id: this process's, else (with a fleet) one another instance runs. */
  findStream(id: string): Promise<StreamLog | undefined>;
  /**
   * Decides a tool call wherever it waits: recorded once (with a fleet: for every instance)
   * before it is applied. Throws `unknown_call`, `forbidden`, `already_decided`, `approval_expired`.
   */
  decide(callId: string, request: DecideRequest): Promise<{ streamId: string }>;
  /** The stream a tool call belongs to, if any instance knows the call. */
  streamOfCall(callId: string): Promise<string | undefined>;
  /**
   * Paces a burst's start work per turn of the event loop (issue 14): `startChat` waits its
   * turn, and so does a transport's own per-start work (the WebSocket upgrade).
   */
  readonly startPacer: StartPacer;
  /** True from `drain()` on: /readyz answers 503 and new chats get `server_shutdown`. */
  readonly draining: boolean;
  drain(): void;
  /**
   * Validates a chat's tools, admits it under the client's limits, creates its stream (with
   * its `start` frame, bound to the identity's subject) and starts the engine. Throws a
   * TokenwireError (`unknown_tool`, `too_many_streams`, `rate_limited`, `server_shutdown`,
   * `store_unavailable`) before any stream exists. Without an identity no per-client limit
   * applies (a web request with neither a subject nor a `clientAddress`).
   * With an `idempotencyKey` (issue 17) a repeat of the same request by the same subject gets
   * the stream the first start made (view it from seq -1); the key with another request throws
   * `idempotency_conflict`, and `stream_expired` once that stream is no longer kept. `onReplay`
   * is called (before it resolves) when the key's earlier stream is the answer, so the caller
   * may view it from where its client left off rather than from seq -1.
   */
  startChat(request: ChatRequest, options: { transport: Transport; clientId?: string; identity?: Identity; idempotencyKey?: string; gone?: () => boolean; onReplay?: () => void }): Promise<StreamLog>;
  /** Ends every stream with `server_shutdown` and waits for the engines, up to `deadlineMs`. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** How a chat starts: its transport, the WebSocket client's `id`, who asks. */
interface StartOptions {
  transport: Transport;
  clientId?: string | undefined;
  identity?: Identity | undefined;
  /** Whether the asking client has left (its connection closed): checked once its start's turn comes. */
  gone?: (() => boolean) | undefined;
  /** Called when an idempotency key's earlier stream answers this start. */
  onReplay?: (() => void) | undefined;
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
  /** Where streams' logs live; the fleet's, else the memory store bounded by the config's byte budgets. */
  store?: StreamStore;
  /** The instances to share streams with (server/fleet/redis/redis-fleet.ts when REDIS_URL is set). */
  fleet?: Fleet;
  /** Chat starts' idempotency keys; the fleet's, else a bounded map in memory. */
  startKeys?: StartKeys;
  /** This process's name; INSTANCE_ID or host:pid by default. */
  instanceId?: string;
}

/**
 * Stream starts run per turn of the event loop before the rest wait for the next (issue 14):
 * at the 250–300 µs a whole start costs on the bench's machine (load/bench/start-path.ts),
 * at most about 4 ms of start work between two runs of the token timers, below the baseline's
 * added inter-token p99 in a burst of 1,000.
 */
const STARTS_PER_TURN = 16;
/**
 * How long a keyed start's claim holds its key while the start is admitted and makes its
 * stream (a pacer turn, one guarded Redis call or two): past it, a start that died lets the
 * starts waiting on its key go on.
 */
const START_CLAIM_MS = 5_000;
/** How long a keyed start waits for another start of its key before `store_unavailable`: a lapsed claim included. */
const KEYED_WAIT_MS = 2 * START_CLAIM_MS;

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
  const log = parts.log;
  /** Engines (runChat) still running, and what shutdown waits on until none is. */
  const engines: { running: number; idle?: Promise<void>; markIdle?: () => void } = { running: 0 };
  const engineEnded = () => {
    if (--engines.running > 0 || !engines.markIdle) return;
    engines.markIdle();
    engines.idle = engines.markIdle = undefined;
  };
  // runChat never throws; if it ever did, the engine still counts as ended, and the cause is logged.
  const engineFailed = (error: unknown) => {
    engineEnded();
    log.error({ err: error }, 'engine failed');
  };
  const auth = parts.authenticator ?? createAuthenticator(config, log);
  const limits = parts.limits ?? fleet?.limits ?? createMemoryClientLimits({ maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT, startsPerMinute: config.STREAM_STARTS_PER_MINUTE });
  const audit = parts.audit ?? fleet?.audit ?? createMemoryApprovalAudit(config.AUDIT_MAX_RECORDS);
  const instanceId = parts.instanceId ?? instanceIdOf(config);
  const modelLabel = createModelLabel();
  /** Each admitted stream's slot in its client's limit, released at `done`. */
  const releases = new Map<string, () => void>();
  let draining = false;
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
  fleet?.bind(hub, approvals);
  metrics.sources.retainedLogBytes = () => hub.retainedBytes();
  // Kept streams are bounded by the hub and the TTL; four keys a stream slot is room for them all.
  const startKeys = parts.startKeys ?? fleet?.startKeys ?? createMemoryStartKeys(Math.max(1_024, config.MAX_STREAMS * 4));
  const pacer = createStartPacer(STARTS_PER_TURN);
  /** Starts of one key in this process, one after another, so a quick repeat waits for the first. */
  const keyedStarts = new Map<string, Promise<StreamLog>>();
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

  async function startStream(request: ChatRequest, { transport, clientId, identity, gone }: StartOptions): Promise<Stream> {
    // A burst's starts take turns with running streams' tokens (issue 14); the request was
    // validated before, so a bad one is answered at once, however many starts wait.
    const turn = pacer.turn();
    if (turn) {
      await turn;
      // A client that left while its start waited gets no stream: nobody could view or resume it.
      if (gone?.()) throw new TokenwireError('connection_lost', 'The client left before its stream started.');
    }
    if (draining) throw new TokenwireError('server_shutdown');
    // Issue 10: without Redis a stream could be neither resumed elsewhere nor controlled; refuse it.
    storeAvailable();
    const selected = tools.select(request.tools ?? []);
    const release = identity ? await limits.admitStream(clientKey(identity.subject, identity.address)) : undefined;
    if (draining) {
      release?.();
      throw new TokenwireError('server_shutdown');
    }
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
    // Started on the next turn, so the caller can attach its view before the first frame;
    // counted with shared callbacks, so a parked stream holds no closures here (issue 14).
    engines.running++;
    queueMicrotask(() => void runChat(stream, request, selected, engine).then(engineEnded, engineFailed));
    return stream;
  }

  /** The stream a key already started, if the request is the same one; else the typed refusal. */
  async function startedBefore(record: StartRecord, fingerprint: string, { transport, onReplay }: StartOptions): Promise<StreamLog> {
    if (record.fingerprint !== fingerprint) throw new TokenwireError('idempotency_conflict');
    const stream = await hub.find(record.streamId);
    if (!stream) throw new TokenwireError('stream_expired', 'The stream this idempotency key started is no longer kept.');
    metrics.startReplays.inc({ transport });
    onReplay?.();
    return stream;
  }

  /**
   * A start with an idempotency key: the stream the key names, or a new one it then
   * names. The key is claimed before the start is admitted, so of starts racing with one key
   * (on this instance or others) only the claim's holder spends the client's start budget and a
   * stream slot; the others wait for its stream, or claim the key themselves if its start fails.
   */
  async function startKeyed(request: ChatRequest, options: StartOptions, key: string): Promise<StreamLog> {
    const fingerprint = requestFingerprint(request);
    const keyStore = <T>(work: Promise<T>) =>
      work.catch((error: unknown) => {
        throw isTokenwireError(error) ? error : new TokenwireError('store_unavailable', undefined, { cause: error });
      });
    const giveUpAt = Date.now() + KEYED_WAIT_MS;
    for (;;) {
      const claimed = await keyStore(startKeys.claim(key, fingerprint, START_CLAIM_MS));
      if (claimed.status === 'started') return startedBefore(claimed.record, fingerprint, options);
      if (claimed.status === 'pending') {
        if (claimed.fingerprint !== fingerprint) throw new TokenwireError('idempotency_conflict');
        const left = giveUpAt - Date.now();
        if (left <= 0) throw new TokenwireError('store_unavailable', 'Another start with this idempotency key is still under way; retry shortly.');
        await keyStore(startKeys.settled(key, left));
        continue;
      }
      const { claim } = claimed;
      let stream: Stream;
      try {
        stream = await startStream(request, options);
      } catch (error) {
        // Refused (limits, shutdown, a client gone): the key started nothing; a waiting start may try.
        await startKeys.drop(key, claim).catch(() => undefined);
        throw error;
      }
      const filled = await keyStore(startKeys.fill(key, claim, { streamId: stream.id, fingerprint }, stream.graceMs + config.STREAM_TTL_MS)).catch((error: unknown) => {
        stream.abort('cancelled');
        void startKeys.drop(key, claim).catch(() => undefined);
        throw error;
      });
      if (filled) return stream;
      // The claim lapsed before the stream was named (this instance stalled past START_CLAIM_MS)
      // and another start took the key: that one answers; this generation has not begun.
      stream.abort('cancelled');
    }
  }

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
    startPacer: pacer,
    async findStream(id) {
      const local = hub.get(id);
      if (local) return local;
      // Another instance's stream is found through Redis: while it is away, say so at once
      // rather than queue the lookup until it returns (ioredis's offline queue).
      storeAvailable();
      return hub.find(id);
    },
    async decide(callId, { decision, authorize, reason, by }) {
      if (fleet) {
        storeAvailable();
        return fleet.decide(callId, { decision, authorize, reason, by });
      }
      return approvals.decide(callId, decision, {
        authorize: (id) => {
          const stream = hub.get(id);
          return stream !== undefined && authorize(stream);
        },
        reason,
        by,
      });
    },
    async streamOfCall(callId) {
      if (!fleet) return approvals.streamOf(callId);
      storeAvailable();
      return fleet.streamOfCall(callId);
    },
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
    startChat(request, options) {
      if (options.idempotencyKey === undefined) return startStream(request, options);
      const key = scopedStartKey(options.idempotencyKey, options.identity?.subject);
      const started = (keyedStarts.get(key) ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => startKeyed(request, options, key));
      keyedStarts.set(key, started);
      const forget = () => void (keyedStarts.get(key) === started && keyedStarts.delete(key));
      started.then(forget, forget);
      return started;
    },
    async shutdown(deadlineMs) {
      draining = true;
      hub.abortAll('shutdown');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        engines.running === 0 ? undefined : (engines.idle ??= new Promise<void>((resolve) => (engines.markIdle = resolve))),
        new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
      hub.close();
    },
  };
}
