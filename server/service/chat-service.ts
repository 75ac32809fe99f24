import { isTokenwireError, TokenwireError } from '../../shared/errors.js';
import type { ChatRequest, Transport } from '../../shared/protocol.js';
import { clientKey, type ClientLimits, type SharedClientLimits } from '../access/client-limits.js';
import type { StartPacer } from '../access/start-pacer.js';
import type { Identity } from '../access/stream-access.js';
import type { ApprovalGate } from '../engine/approvals.js';
import type { ClientOutputGate } from '../engine/client-outputs.js';
import type { ApprovalRecord } from '../engine/approval-record.js';
import type { ChatSummary } from '../engine/chat-summary.js';
import { runChat } from '../engine/run-chat.js';
import type { ModelProvider } from '../models/provider.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { createModelLabel, observeStream } from '../observability/stream-metrics.js';
import type { Config } from '../settings/config.js';
import type { Hub, Stream, StreamLog } from '../streams/hub.js';
import { requestFingerprint, scopedStartKey, type StartKeys, type StartRecord } from '../streams/start-keys.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatHooks } from './chat-hooks.js';
import { createLifecycleHooks } from './lifecycle-hooks.js';
import { createRequestPreparer, type PreparedChat } from './prepare-request.js';

/**
 * Stream starts run per turn of the event loop before the rest wait for the next:
 * at the 250–300 µs a whole start costs on the bench's machine (load/bench/start-path.ts),
 * at most about 4 ms of start work between two runs of the token timers, below the baseline's
 * added inter-token p99 in a burst of 1,000.
 */
export const STARTS_PER_TURN = 16;
/**
 * How long a keyed start's claim holds its key while the start is admitted and makes its
 * stream (a pacer turn, one guarded Redis call or two): past it, a start that died lets the
 * starts waiting on its key go on.
 */
export const START_CLAIM_MS = 5_000;
/** How long a keyed start waits for another start of its key before `store_unavailable`: a lapsed claim included. */
const KEYED_WAIT_MS = 2 * START_CLAIM_MS;

/** How a chat starts: its transport, the WebSocket client's `id`, who asks. */
export interface StartOptions {
  transport: Transport;
  clientId?: string | undefined;
  identity?: Identity | undefined;
  /** Whether the asking client has left (its connection closed): checked once its start's turn comes. */
  gone?: (() => boolean) | undefined;
  /** Called when an idempotency key's earlier stream answers this start. */
  onReplay?: (() => void) | undefined;
}

/** What an edge starts chats through: admission, idempotent start and launch, whatever the transport. */
export interface ChatService {
  /**
   * Applies the server's decisions (`prepareRequest`, the model allow-list), validates a chat's
   * tools, admits it under the client's limits, creates its stream (with its `start` frame,
   * bound to the identity's subject) and starts the engine. Throws a TokenwireError
   * (`unknown_tool`, `model_not_allowed`, the hook's own, `too_many_streams`, `rate_limited`, `server_shutdown`,
   * `store_unavailable`) before any stream exists. Without an identity no per-client limit
   * applies (a web request with neither a subject nor a `clientAddress`).
   * With an `idempotencyKey` a repeat of the same request by the same subject gets
   * the stream the first start made (view it from seq -1); the key with another request throws
   * `idempotency_conflict`, and `stream_expired` once that stream is no longer kept. `onReplay`
   * is called (before it resolves) when the key's earlier stream is the answer, so the caller
   * may view it from where its client left off rather than from seq -1.
   */
  startChat(request: ChatRequest, options: StartOptions & { idempotencyKey?: string | undefined }): Promise<StreamLog>;
}

/** What the chat service starts streams with: the composition root (core.ts) makes them once. */
export interface ChatServiceDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  hub: Hub;
  tools: ToolRegistry;
  approvals: ApprovalGate;
  provider: ModelProvider;
  limits: ClientLimits | SharedClientLimits;
  startKeys: StartKeys;
  pacer: StartPacer;
  /** Each admitted stream's slot in its client's limit, released at `done` (by the hub's onDone). */
  releases: Map<string, () => void>;
  auditApproval: (record: Omit<ApprovalRecord, 'instance'>) => void;
  /** Where client tools' calls wait for the client's output. */
  clientOutputs: ClientOutputGate;
  /** Throws `store_unavailable` while the shared store is away. */
  storeAvailable: () => void;
  draining: () => boolean;
  /** The app's `prepareRequest`, `onFinish` and `onError`. */
  hooks: ChatHooks;
}

/**
 * The chat service: admission (limits, draining, the store), idempotent starts (one stream per
 * key, on any instance) and the launch of the engine. `idle(deadlineMs)` resolves once every
 * engine it launched has ended and its lifecycle hooks ran, or at the deadline.
 */
export function createChatService(deps: ChatServiceDeps): ChatService & { idle(deadlineMs: number): Promise<void>; stopStarts(): void } {
  const { config, log, metrics, hub, tools, approvals, provider, limits, startKeys, pacer, releases, auditApproval, clientOutputs, storeAvailable } = deps;
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
  // The hooks count as the engine's work: shutdown waits for onFinish's write, as for the tokens.
  const lifecycle = createLifecycleHooks(deps.hooks, log);
  const engineDone = (summary: ChatSummary) => {
    const hooks = lifecycle(summary);
    if (hooks) hooks.then(engineEnded, engineEnded);
    else engineEnded();
  };
  const prepare = createRequestPreparer({
    prepareRequest: deps.hooks.prepareRequest,
    allowedModels: new Set([provider.defaultModel, ...config.MODELS]),
    defaultModel: provider.defaultModel,
    tools,
    log,
  });
  /** The chat as the server decides it; a client that left while an async hook ran gets no stream. */
  // An app's hook that never settles must not hold its request past a stop: the stop answers it.
  let stopStarts!: () => void;
  const stopped = new Promise<never>((_, reject) => (stopStarts = () => reject(new TokenwireError('server_shutdown'))));
  stopped.catch(() => {});
  const decide = (request: ChatRequest, { transport, identity, gone }: StartOptions): PreparedChat | Promise<PreparedChat> => {
    const decided = prepare(request, { transport, subject: identity?.subject });
    if (!(decided instanceof Promise)) return decided;
    return Promise.race([decided, stopped]).then((chat) => {
      if (gone?.()) throw new TokenwireError('connection_lost', 'The client left before its stream started.');
      return chat;
    });
  };
  const modelLabel = createModelLabel();
  /** Starts of one key in this process, one after another, so a quick repeat waits for the first. */
  const keyedStarts = new Map<string, Promise<StreamLog>>();
  const engine = {
    provider,
    approvals,
    metrics,
    log,
    maxToolRounds: config.MAX_TOOL_ROUNDS,
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
    toolTimeoutMs: config.TOOL_TIMEOUT_MS,
    auditApproval,
    clientOutputs,
  };

  async function startStream(request: ChatRequest, options: StartOptions, decided?: PreparedChat): Promise<Stream> {
    const { transport, clientId, identity, gone } = options;
    // A burst's starts take turns with running streams' tokens; the request was
    // validated before, so a bad one is answered at once, however many starts wait.
    const turn = pacer.turn();
    if (turn) {
      await turn;
      // A client that left while its start waited gets no stream: nobody could view or resume it.
      if (gone?.()) throw new TokenwireError('connection_lost', 'The client left before its stream started.');
    }
    if (deps.draining()) throw new TokenwireError('server_shutdown');
    // without Redis a stream could be neither resumed elsewhere nor controlled; refuse it.
    storeAvailable();
    // The server's decisions (prompt, model, tools) come before admission: a refusal holds no slot.
    const deciding = decided ?? decide(request, options);
    const chat = deciding instanceof Promise ? await deciding : deciding;
    const release = identity ? await limits.admitStream(clientKey(identity.subject, identity.address)) : undefined;
    if (deps.draining()) {
      release?.();
      throw new TokenwireError('server_shutdown');
    }
    const { model } = chat;
    let stream: Stream;
    try {
      stream = hub.create({ model, transport, clientId, graceMs: chat.request.options?.resumeGraceMs, subject: identity?.subject });
    } catch (error) {
      release?.();
      throw error;
    }
    if (release) releases.set(stream.id, release);
    observeStream(stream, metrics, { transport, model: modelLabel(model) });
    metrics.streamsStarted.inc({ transport });
    metrics.streamsActive.inc();
    // Started on the next turn, so the caller can attach its view before the first frame;
    // counted with shared callbacks, so a parked stream holds no closures here.
    engines.running++;
    queueMicrotask(() => void runChat(stream, chat.request, chat.selected, engine).then(engineDone, engineFailed));
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
    // Decided before the key is claimed: the claim holds for START_CLAIM_MS, which an app's
    // prepareRequest (a database, a policy service) must not be able to outlast.
    const decided = await decide(request, options);
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
        stream = await startStream(request, options, decided);
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
    stopStarts: () => stopStarts(),
    async idle(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        engines.running === 0 ? undefined : (engines.idle ??= new Promise<void>((resolve) => (engines.markIdle = resolve))),
        new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    },
  };
}
