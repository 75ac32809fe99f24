// Over 300 lines on purpose: one socket's state machine (frames in, views out, limits), whose methods share its fields.
import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import type { ClientFrameOf, WsFormat } from '../../../shared/protocol.js';
import { canControl, type Identity } from '../../access/stream-access.js';
import { createTokenBuckets } from '../../access/token-bucket.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ChatService } from '../../service/chat-service.js';
import type { StreamControl } from '../../service/stream-control.js';
import { checkToolOutput } from '../../service/tool-outputs.js';
import { isGeneration, type StreamLog } from '../../streams/hub.js';
import { viewStartError } from '../../views/stream-view.js';
import { prepareAgUiView } from '../../views/ws-ag-ui-view.js';
import { decodeWsMessage, errorFrameJson } from '../../views/ws-frames.js';
import { createWsSender, type SenderSocket, type WsSender } from '../../views/ws-sender.js';
import { createWsViews, type WsViews } from '../../views/ws-views.js';

/** The socket a session drives: `ws`'s WebSocket, or a test double with the same few members. */
export interface WsSocket extends SenderSocket {
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: unknown, isBinary?: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** What a session uses: it starts chats and finds, decides, answers and cancels streams through the two services. */
export interface WsSessionDeps {
  chat: ChatService;
  control: StreamControl;
  log: Logger;
  metrics: Metrics;
}

export interface WsSessionOptions {
  /** Socket buffer above which frames queue and tokens coalesce. */
  highWaterBytes: number;
  /** Socket buffer plus queue above which every view of the socket is dropped (`slow_consumer`). */
  maxBufferedBytes: number;
  /** True while the server shuts down: new streams are refused. */
  closing?: () => boolean;
  /** Called when the socket's views are dropped for reading too slowly (for a metric). */
  onSlowConsumer?: () => void;
  /** Who opened the socket: streams it starts are bound to the subject, limits keyed by it. */
  identity?: Identity;
  /** Streams this socket may view at once (MAX_STREAMS_PER_SOCKET). */
  maxStreams?: number;
  /** Messages this socket may send per second, in bursts up to as many (WS_MESSAGES_PER_SECOND). */
  messagesPerSecond?: number;
}

export interface WsSession {
  /** Bytes waiting for this peer: the socket's buffer plus the coalescing queue. */
  readonly bufferedBytes: number;
  /** Streams this socket is viewing. */
  readonly viewing: number;
  /** Resolves once every frame received so far has been handled (admission may wait for Redis). */
  idle(): Promise<void>;
  /** Sends what is queued, then closes with 1001 (going away); resolves when the socket closed. */
  shutdown(): Promise<void>;
  readonly closed: Promise<void>;
}

/** What a `start` or `resume` frame asks a view to send (protocol minor 2). */
type ViewFormat = { format?: WsFormat | undefined; threadId?: string | undefined; runId?: string | undefined };

/** How many streams a socket remembers having started, for approvals and cancel after they end. */
const MAX_OWNED = 1024;

/** What a session does once its socket sent a first frame: the handlers and the state they share. */
interface ActiveSession {
  readonly bufferedBytes: number;
  readonly viewing: number;
  readonly handling: Promise<void>;
  message(data: unknown, isBinary?: boolean): void;
  /** The socket closed: end every view. */
  close(): void;
  /** Sends what is queued (before a 1001 close). */
  flushAll(): void;
}

/** What the active part reads of the idle one. */
interface SessionHost {
  readonly socket: WsSocket;
  readonly deps: WsSessionDeps;
  readonly options: WsSessionOptions;
  readonly ended: boolean;
}

/**
 * One WebSocket connection: decodes client frames, multiplexes the streams it starts or
 * resumes by stream id, routes tool decisions through stream control, and writes frames through
 * a bounded sender. A bad frame gets an `error` frame and the socket stays usable.
 * Knows nothing of `ws` itself: upgrade, origin and ping live in ws-server.ts.
 *
 * A class, not a factory: most sockets sit idle, and an idle session is then this
 * one small object and two listeners; its methods live on the prototype, and the handlers with
 * their state (`ActiveSession`) are made when the first frame arrives.
 */
class Session implements WsSession, SessionHost {
  ended = false;
  private active: ActiveSession | undefined;
  private closedPromise: Promise<void> | undefined;
  private markClosed: (() => void) | undefined;

  readonly socket: WsSocket;
  readonly deps: WsSessionDeps;
  readonly options: WsSessionOptions;

  constructor(socket: WsSocket, deps: WsSessionDeps, options: WsSessionOptions) {
    this.socket = socket;
    this.deps = deps;
    this.options = options;
    socket.on('message', (data, isBinary) => this.socketOnMessage(data, isBinary));
    socket.on('close', () => this.socketOnClose());
  }

  private socketOnMessage(data: unknown, isBinary?: boolean): void {
    if (this.ended) return;
    (this.active ??= createActiveSession(this)).message(data, isBinary);
  }

  private socketOnClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.active?.close();
    this.markClosed?.();
  }

  get bufferedBytes(): number {
    return this.active ? this.active.bufferedBytes : (this.socket.bufferedAmount ?? 0);
  }

  get viewing(): number {
    return this.active?.viewing ?? 0;
  }

  idle(): Promise<void> {
    return this.active?.handling ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    if (!this.ended) {
      this.active?.flushAll();
      this.socket.close(1001, 'server shutting down');
    }
    return this.closed;
  }

  /** Made when first asked for: most sessions are never shut down by the server. */
  get closed(): Promise<void> {
    return (this.closedPromise ??= this.ended ? Promise.resolve() : new Promise<void>((resolve) => (this.markClosed = resolve)));
  }
}

/** The answer to a client's `ping` (protocol minor 5): not a stream frame, it carries no stream id or seq. */
const PONG = '{"type":"pong"}';

/** A session on `socket` (see Session). */
export function createWsSession(socket: WsSocket, deps: WsSessionDeps, options: WsSessionOptions): WsSession {
  return new Session(socket, deps, options);
}

/** The handlers of a session whose socket has sent a frame, and the state they share. */
function createActiveSession(host: SessionHost): ActiveSession {
  const { socket, options } = host;
  const { chat, control, log, metrics } = host.deps;
  let state: { sender: WsSender; views: WsViews; owned: Set<string> } | undefined;
  const live = () => {
    if (state) return state;
    const owned = new Set<string>();
    const sender = createWsSender(socket, {
      highWaterBytes: options.highWaterBytes,
      maxBufferedBytes: options.maxBufferedBytes,
      onOverflow: senderOnOverflow,
    });
    state = { sender, views: createWsViews(sender, (streamId) => owned.has(streamId)), owned };
    return state;
  };
  const owns = (streamId: string) => state?.owned.has(streamId) === true;

  const subject = options.identity?.subject;
  /** The one access rule (canControl): this socket holds the streams it started, resumed with their token, or views. */
  const mayControl = (stream: StreamLog) => canControl(stream, { subject, holds: owns(stream.id) || state?.views.has(stream.id) === true });
  let messages: ReturnType<typeof createTokenBuckets> | undefined;
  /** While limited, further messages are dropped silently: one error frame per limited spell. */
  let limitedUntil = 0;
  /** Starts admitted but not yet viewed (admission may wait for Redis). */
  let starting = 0;
  /** Frames are handled one after another, so answers keep the order of the frames they answer. */
  let handling: Promise<void> = Promise.resolve();
  let inFlight = 0;

  /**
   * An error frame in answer to a client frame; `ref` is the stream (or client id) it concerns.
   * Its seq is where a resume picks up: the last this socket's view delivered, else `lastSeq`
   * (a stream no longer viewed here, e.g. done before a late approve).
   */
  const sendError = (error: TokenwireError, ref?: string, lastSeq?: number) => {
    metrics.errors.inc({ code: error.code });
    const { sender, views } = live();
    sender.control(errorFrameJson(error, ref, ref === undefined ? 0 : (views.lastSeq(ref) ?? lastSeq ?? 0)));
  };

  function own(streamId: string): void {
    const { owned, views } = live();
    owned.add(streamId);
    if (owned.size <= MAX_OWNED) return;
    for (const id of owned) {
      if (views.has(id) || control.localStream(id)?.done === false) continue;
      owned.delete(id);
      if (owned.size <= MAX_OWNED) return;
    }
  }

  /**
   * Views a stream; one that cannot start is answered at once: after `done` with
   * the `done` frame again, past the end with `resume_ahead`, before what is kept with
   * `stream_expired` whose `seq` is where a resume can pick up (the first kept seq - 1).
   */
  async function view(stream: StreamLog, afterSeq: number, as: ViewFormat = {}): Promise<void> {
    let outcome: Awaited<ReturnType<WsViews['view']>>;
    try {
      // Protocol minor 2: the same view in AG-UI events, on request.
      const { sender, views } = live();
      const mapped = as.format === 'ag-ui' ? await prepareAgUiView(stream, afterSeq, as, sender) : undefined;
      if (mapped instanceof TokenwireError) return sendError(mapped, stream.id);
      outcome = await views.view(stream, mapped?.from ?? afterSeq, mapped?.presenter);
    } catch (thrown) {
      const error = toTokenwireError(thrown);
      // A typed refusal (store_unavailable while Redis is away) is expected: its code, not a stack.
      if (error.code === 'internal') log.error({ err: thrown, streamId: stream.id }, 'WebSocket view failed');
      else log.debug({ code: error.code, streamId: stream.id }, 'WebSocket view refused');
      return sendError(error, stream.id);
    }
    if (host.ended || outcome.status === 'ok') return;
    if (outcome.status === 'ended') {
      if (outcome.done) live().sender.record(outcome.done);
      else sendError(new TokenwireError('stream_expired', 'The stream is no longer kept.'), stream.id);
      return;
    }
    const error = viewStartError(outcome) as TokenwireError;
    const seq = outcome.status === 'ahead' ? outcome.lastSeq : outcome.firstSeq - 1;
    live().sender.control(errorFrameJson(error, stream.id, seq));
  }

  async function start(frame: ClientFrameOf<'start'>): Promise<void> {
    const { type: _type, id, format, threadId, runId, idempotencyKey, ...request } = frame;
    if (options.closing?.()) {
      sendError(new TokenwireError('server_shutdown'), id);
      return;
    }
    if (options.maxStreams !== undefined && (state?.views.size ?? 0) + starting >= options.maxStreams) {
      const error = `At most ${options.maxStreams} streams may be open on one WebSocket.`;
      sendError(new TokenwireError('too_many_streams', error, { retryAfterMs: 1_000 }), id);
      return;
    }
    let stream: StreamLog;
    starting++;
    try {
      stream = await chat.startChat(request, {
        transport: 'ws',
        clientId: id,
        gone: () => host.ended,
        ...(options.identity ? { identity: options.identity } : {}),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      });
    } catch (thrown) {
      // No stream exists, so the error names the client's id: that is how it knows which start failed.
      sendError(toTokenwireError(thrown), id);
      return;
    } finally {
      starting--;
    }
    // The socket closed while the stream was admitted. Without a key nobody has its id, so nobody
    // can resume it; with one the client starts again with the key: it gets the resume window.
    if (host.ended) return void (idempotencyKey === undefined && isGeneration(stream) ? stream.abort('client_gone') : stream.attachViewer()('left'));
    own(stream.id);
    // A keyed start repeated on a socket that already views its stream: that view goes on.
    if (state?.views.has(stream.id)) return;
    void view(stream, -1, { format, threadId, runId });
  }

  /** A refused decision or output: the error, naming the call's stream only to a socket that may know it. */
  async function sendCallError(callId: string, thrown: unknown): Promise<void> {
    const error = toTokenwireError(thrown);
    // What is not the caller's fault is ours to find: logged with its cause, as on the HTTP routes.
    if (error.code === 'internal') log.error({ err: thrown, callId }, 'a tool call decision or output failed');
    const streamId = await control.streamOfCall(callId).catch(() => undefined);
    const stream = streamId === undefined ? undefined : await control.findStream(streamId).catch(() => undefined);
    const known = stream && mayControl(stream) ? stream : undefined;
    sendError(error, known?.id, known?.lastSeq);
  }

  async function decide(frame: ClientFrameOf<'approve'> | ClientFrameOf<'deny'>): Promise<void> {
    try {
      await control.decide(frame.callId, {
        decision: frame.type,
        authorize: (stream) => canControl(stream, { subject, holds: owns(stream.id) }),
        reason: frame.reason,
        code: frame.type === 'deny' ? frame.code : undefined,
        args: frame.type === 'approve' ? frame.args : undefined,
        by: { subject, transport: 'ws' },
      });
    } catch (thrown) {
      await sendCallError(frame.callId, thrown);
    }
  }

  /** A client tool's output: checked, then handed to its call as a decision is, under the same access rule. */
  async function answer(frame: ClientFrameOf<'tool_output'>): Promise<void> {
    try {
      const checked = checkToolOutput(frame);
      if (checked instanceof TokenwireError) throw checked;
      await control.deliverOutput(frame.callId, {
        answer: checked,
        authorize: (stream) => canControl(stream, { subject, holds: owns(stream.id) }),
        by: { subject, transport: 'ws' },
      });
    } catch (thrown) {
      await sendCallError(frame.callId, thrown);
    }
  }

  async function cancel(frame: ClientFrameOf<'cancel'>): Promise<void> {
    const stream = await control.findStream(frame.streamId);
    // Another connection's stream is reported as unknown: its id alone does not let a socket end it.
    if (!stream || !mayControl(stream)) {
      sendError(new TokenwireError('unknown_stream', `No stream ${frame.streamId} on this connection.`), frame.streamId);
      return;
    }
    // The engine writes `done` (cancelled) at once; the view delivers it and ends. A cancel the
    // owner could not confirm throws its typed error, sent for this stream.
    await stream.cancel();
  }

  async function resume(frame: ClientFrameOf<'resume'>): Promise<void> {
    const stream = await control.findStream(frame.streamId);
    if (host.ended) return;
    if (!stream) {
      sendError(new TokenwireError('unknown_stream', `No stream ${frame.streamId} is kept.`), frame.streamId);
      return;
    }
    // As GET /api/streams/:id: a stream id alone reads nothing; the socket that started the
    // stream, its subject, or one that presents its token may view it again.
    const allowed = canControl(stream, { subject, token: frame.token });
    if (!allowed && !canControl(stream, { subject, holds: owns(stream.id) })) {
      // Named with the id the client sent (it learns nothing new), so its resume ends instead of hanging.
      sendError(new TokenwireError('forbidden', "Resuming another connection's stream needs its token from the start frame."), frame.streamId);
      return;
    }
    if (allowed) own(stream.id);
    metrics.resumes.inc({ transport: 'ws' });
    metrics.replayedFrames.inc({ transport: 'ws' }, Math.max(0, stream.lastSeq - frame.lastSeq));
    void view(stream, frame.lastSeq, frame);
  }

  function senderOnOverflow(): void {
    // The peer reads slower than its streams produce: drop every view of this socket with a
    // retryable error after what it already has; it may resume from its last seq.
    const { sender, views } = live();
    const dropped = views.dropSlow();
    options.onSlowConsumer?.();
    log.warn({ streams: dropped, bufferedBytes: sender.bufferedBytes }, 'dropped a slow WebSocket reader');
  }

  /** Whether this message is within WS_MESSAGES_PER_SECOND; checked before any decoding. */
  function admitMessage(): boolean {
    if (options.messagesPerSecond === undefined) return true;
    messages ??= createTokenBuckets({ capacity: options.messagesPerSecond, windowMs: 1_000 });
    const wait = messages.take('');
    if (wait === 0) return true;
    const now = performance.now();
    if (now >= limitedUntil) {
      limitedUntil = now + wait;
      sendError(new TokenwireError('rate_limited', `At most ${options.messagesPerSecond} messages per second; this one was dropped.`, { retryAfterMs: wait }));
    }
    return false;
  }

  function socketOnMessage(data: unknown, isBinary?: boolean): void {
    if (!admitMessage()) return;
    const decoded = decodeWsMessage(data, isBinary);
    if (!decoded.ok) {
      const { error, ref } = decoded;
      // Answered at once, unless earlier frames are still being handled: answers keep their order.
      if (inFlight === 0) sendError(error, ref);
      else handling = handling.then(() => sendError(error, ref));
      return;
    }
    const { frame } = decoded;
    // A sign of life for a client watching for a dead path: answered at once, ahead of queued work.
    if (frame.type === 'ping') return void live().sender.control(PONG);
    const handle = () =>
      frame.type === 'start'
        ? start(frame)
        : frame.type === 'approve' || frame.type === 'deny'
          ? decide(frame)
          : frame.type === 'cancel'
            ? cancel(frame)
            : frame.type === 'tool_output'
              ? answer(frame)
              : resume(frame);
    inFlight++;
    handling = handling
      .then(handle)
      .catch((thrown: unknown) => {
        const error = toTokenwireError(thrown);
        if (error.code === 'internal') log.error({ err: thrown, type: frame.type }, 'WebSocket frame failed');
        // Named for what the frame was about (its stream, or a start's client id), so a client
        // with several streams knows which one failed (a retryable store_unavailable, say).
        if (!host.ended) sendError(error, 'streamId' in frame ? frame.streamId : frame.type === 'start' ? frame.id : undefined);
      })
      .finally(() => inFlight--);
  }

  return {
    get bufferedBytes() {
      return state ? state.sender.bufferedBytes : (socket.bufferedAmount ?? 0);
    },
    get viewing() {
      return state?.views.size ?? 0;
    },
    get handling() {
      return handling;
    },
    message: socketOnMessage,
    close() {
      state?.views.endAll();
      state?.owned.clear();
    },
    flushAll: () => state?.sender.flushAll(),
  };
}
