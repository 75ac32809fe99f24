// Over 300 lines on purpose: the generation class whose methods live on one prototype (no closures per parked stream).
import { TokenwireError } from '../../shared/errors.js';
import { newApprovalToken, newStreamId } from '../../shared/ids.js';
import { PROTOCOL_MINOR, PROTOCOL_VERSION, type FrameBody, type ServerFrame, type Transport } from '../../shared/protocol.js';
import { tokenJsonPrefix, tokenRecord, type StoreListener, type StoreRead, type StreamRecord, type StreamStore } from './stream-store.js';

export type { StoreRead, StreamRecord };

/** Why a stream's generation was aborted: the engine turns this into its last frames. */
export type AbortCause = 'client_gone' | 'cancelled' | 'shutdown' | 'slow_consumer' | 'owner_lost' | 'store_unavailable';

export class StreamAbort extends Error {
  constructor(readonly abortCause: AbortCause) {
    super(`stream aborted: ${abortCause}`);
    this.name = 'StreamAbort';
  }
}

export type StreamListener = StoreListener;

/**
 * How a viewer left: `left` (its connection closed) starts the stream's resume window, or aborts
 * at once without one; `dropped` (tokenwire dropped it, `slow_consumer`) never aborts at once:
 * the client was told to come back.
 */
export type DetachReason = 'left' | 'dropped';

/**
 * A stream's log as any instance sees it: what views read and follow, and the control anyone
 * with access may send (viewers, cancel). Another instance's stream is one of these only
 * (server/fleet/redis/remote-stream.ts); the generation that appends to it lives on its owner.
 */
export interface StreamLog {
  readonly id: string;
  /** The stream's capability for anonymous use (`streamToken` on the wire). */
  readonly streamToken: string;
  /** The authenticated subject that started the stream; only it may view or control it. */
  readonly subject: string | undefined;
  readonly createdAt: number;
  /** The resume window this stream keeps after its last viewer left (ms, already capped). */
  readonly graceMs: number;
  done: boolean;
  lastSeq: number;
  /** Frames after `afterSeq` from the store, or why they cannot be had. */
  read(afterSeq: number): Promise<StoreRead>;
  /** Every frame appended from now on, in order; returns the unsubscribe function. */
  subscribe(listener: StreamListener): () => void;
  /** A view attaches; when the last one detaches before `done`, generation stops after the resume window. */
  attachViewer(): (reason?: DetachReason) => void;
  /**
   * An explicit cancel, answered once it is applied: resolves whether the stream was still
   * running. For a stream another instance runs it waits for that owner's confirmation, and
   * throws `owner_lost` or `store_unavailable` (both retryable) when it cannot have it.
   */
  cancel(): Promise<boolean>;
}

/** One generation on its owner: the log plus what only the owner's engine does (append, abort). */
export interface Stream extends StreamLog {
  /** Aborts the upstream model request and any running tool. */
  readonly signal: AbortSignal;
  /**
   * Sets the one function called when generation is aborted (at once if it already was), or
   * clears it: a model turn's stop switch without a listener on `signal` (a parked stream's
   * signal and its listener were ~0.35 KiB). A later call replaces it.
   */
  onAbort(listener: ((reason: unknown) => void) | undefined): void;
  /** When the generation was aborted (performance.now()), for the disconnect-to-abort figure. */
  abortedAt: number | undefined;
  /** Appends a frame; after `done` it is ignored and returns undefined. */
  append(body: FrameBody): StreamRecord | undefined;
  /** Appends a `token` frame: `append({ type: 'token', text })` without the generic path's copies. */
  appendToken(text: string): void;
  abort(cause: AbortCause): void;
}

/** Whether a stream found by id is a generation of this process (it can be appended to and aborted here). */
export const isGeneration = (stream: StreamLog): stream is Stream => 'append' in stream;

export interface HubOptions {
  /** Where the streams' logs live (server/streams/memory-store.ts by default). */
  store: StreamStore;
  ttlMs: number;
  /** The longest resume window a client may ask for; longer asks are cut to it. */
  maxGraceMs: number;
  /** The window a stream keeps after tokenwire dropped its last viewer (`slow_consumer`), if its own is shorter. */
  droppedGraceMs: number;
  maxStreams: number;
  /** Named in every `start` frame (routing you can see). */
  instanceId?: string | undefined;
  /** A stream was created, before its first frame (the Redis fleet publishes its metadata). */
  onCreate?: (stream: Stream) => void;
  /** Streams other instances run, found through the shared store. */
  remote?: (id: string) => Promise<StreamLog | undefined>;
  onDone?: (stream: Stream, frame: Extract<ServerFrame, { type: 'done' }>) => void;
}

export interface CreateStreamOptions {
  model: string;
  transport: Transport;
  clientId?: string | undefined;
  /** How long to keep generating with no viewer, so the client can resume. 0: abort at once. Capped at `maxGraceMs`. */
  graceMs?: number | undefined;
  /** The authenticated subject starting it; undefined for anonymous use. */
  subject?: string | undefined;
}

export interface Hub {
  create(options: CreateStreamOptions): Stream;
  /** A stream this process runs or still keeps. */
  get(id: string): Stream | undefined;
  /** A stream this process runs, else one another instance runs (with a Redis fleet). */
  find(id: string): Promise<StreamLog | undefined>;
  /** Streams still generating. */
  active(): Stream[];
  abortAll(cause: AbortCause): void;
  readonly size: number;
  /** Approximate bytes of frames kept in every stream's log (the store's count). */
  retainedBytes(): number;
  close(): void;
}

/** What every stream of one hub shares: its options, its store, and the hub's bookkeeping. */
interface HubShared {
  readonly options: HubOptions;
  readonly store: StreamStore;
  /** Runs `fn` after `ms` on an unref'd timer the hub clears on close. */
  later(ms: number, fn: () => void): NodeJS.Timeout;
  forget(timer: NodeJS.Timeout): void;
  /** The stream is done: it no longer counts against `maxStreams`. */
  release(): void;
  /** The stream appended its `done`. */
  ended(stream: HubStream, frame: Extract<ServerFrame, { type: 'done' }>): void;
}

/**
 * A stream of this process. A class, not a factory: a stream parked before its
 * first token kept seven closures and their scope; here its methods live on the prototype and
 * the token JSON prefix is made by the first token.
 */
class HubStream implements Stream {
  readonly streamToken = newApprovalToken();
  readonly createdAt = Date.now();
  done = false;
  lastSeq = -1;
  abortedAt: number | undefined = undefined;
  private viewers = 0;
  private graceTimer: NodeJS.Timeout | undefined = undefined;
  private tokenPrefix: string | undefined = undefined;
  /** Made by the first read of `signal` or by `abort`: a parked stream's model waits on `onAbort`. */
  private controller: AbortController | undefined = undefined;
  private abortListener: ((reason: unknown) => void) | undefined = undefined;

  constructor(
    private readonly hub: HubShared,
    readonly id: string,
    readonly subject: string | undefined,
    readonly graceMs: number,
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    if (listener && this.controller?.signal.aborted) return listener(this.controller.signal.reason);
    this.abortListener = listener;
  }

  append(body: FrameBody): StreamRecord | undefined {
    if (this.done) return undefined;
    const seq = ++this.lastSeq;
    // `type` first on the wire, then the stream's coordinates, then the body.
    const frame = Object.assign({ type: body.type, streamId: this.id, seq }, body) as ServerFrame;
    const record = { frame, json: JSON.stringify(frame) };
    if (frame.type === 'done') {
      this.done = true;
      this.hub.release();
      this.clearGrace();
    }
    this.hub.store.append(this.id, record);
    if (frame.type === 'done') this.hub.ended(this, frame);
    return record;
  }

  appendToken(text: string): void {
    if (this.done) return;
    const seq = ++this.lastSeq;
    // The store may keep only `text`: a kept record per token was most of what a scavenge
    // had to copy, and its pauses were the inter-token p99.
    this.hub.store.append(this.id, tokenRecord(this.id, (this.tokenPrefix ??= tokenJsonPrefix(this.id)), seq, text), text);
  }

  read(afterSeq: number): Promise<StoreRead> {
    return this.hub.store.read(this.id, afterSeq);
  }

  subscribe(listener: StreamListener): () => void {
    return this.hub.store.follow(this.id, listener);
  }

  attachViewer(): (reason?: DetachReason) => void {
    this.viewers++;
    this.clearGrace();
    let attached = true;
    return (reason = 'left') => {
      if (!attached) return;
      attached = false;
      if (--this.viewers > 0 || this.done) return;
      const windowMs = reason === 'dropped' ? Math.max(this.graceMs, this.hub.options.droppedGraceMs) : this.graceMs;
      if (windowMs <= 0) this.abort('client_gone');
      else this.graceTimer = this.hub.later(windowMs, () => this.viewers === 0 && this.abort('client_gone'));
    };
  }

  abort(cause: AbortCause): void {
    if (this.controller?.signal.aborted || this.done) return;
    this.abortedAt = performance.now();
    const { signal } = this;
    (this.controller as AbortController).abort(new StreamAbort(cause));
    const listener = this.abortListener;
    this.abortListener = undefined;
    listener?.(signal.reason);
  }

  cancel(): Promise<boolean> {
    const running = !this.done;
    this.abort('cancelled');
    return Promise.resolve(running);
  }

  private clearGrace(): void {
    if (!this.graceTimer) return;
    clearTimeout(this.graceTimer);
    this.hub.forget(this.graceTimer);
    this.graceTimer = undefined;
  }
}

/** Streams by id, each with its log, its viewers and the policy that aborts a stream nobody watches. */
export function createHub(options: HubOptions): Hub {
  const streams = new Map<string, Stream>();
  const timers = new Set<NodeJS.Timeout>();
  let live = 0;
  const { store } = options;

  const shared: HubShared = {
    options,
    store,
    later(ms, fn) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timer.unref();
      timers.add(timer);
      return timer;
    },
    forget: (timer) => timers.delete(timer),
    release: () => void live--,
    ended(stream, frame) {
      store.finish(stream.id);
      shared.later(options.ttlMs, () => {
        streams.delete(stream.id);
        store.expire(stream.id);
      });
      options.onDone?.(stream, frame);
    },
  };

  function create({ model, transport, clientId, graceMs: asked = 0, subject }: CreateStreamOptions): Stream {
    if (live >= options.maxStreams) throw new TokenwireError('too_many_streams');
    live++;

    const id = newStreamId();
    store.open(id);
    const stream = new HubStream(shared, id, subject, Math.min(asked, options.maxGraceMs));
    streams.set(id, stream);
    options.onCreate?.(stream);
    stream.append({
      type: 'start',
      protocol: PROTOCOL_VERSION,
      protocolMinor: PROTOCOL_MINOR,
      model,
      transport,
      ...(clientId !== undefined ? { id: clientId } : {}),
      streamToken: stream.streamToken,
      // Protocol 1's name, for one version (see PROTOCOL_VERSION).
      approvalToken: stream.streamToken, // protocol 1's name, sent alongside in version 2
      ...(options.instanceId !== undefined ? { instanceId: options.instanceId } : {}),
    });
    return stream;
  }

  return {
    create,
    get: (id) => streams.get(id),
    find: async (id) => streams.get(id) ?? (await options.remote?.(id)),
    active: () => [...streams.values()].filter((s) => !s.done),
    abortAll(cause) {
      for (const s of streams.values()) s.abort(cause);
    },
    get size() {
      return streams.size;
    },
    retainedBytes: () => store.retainedBytes,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
