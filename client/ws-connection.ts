import { TokenwireError } from '../shared/errors.js';
import { decodeServerFrame } from '../shared/frame-codec.js';
import { newClientId, newIdempotencyKey } from '../shared/ids.js';
import type { ChatRequest, ClientFrame, ClientFrameOf } from '../shared/protocol.js';
import type { StreamSink } from './chat-stream.js';
import { connectionLost } from './http.js';
import type { ToolOutputBody } from './client-tool-runner.js';
import type { DecisionOptions, StreamRef, WebSocketLike } from './types.js';
import { utf8Length } from './utf8.js';
import { createWsRoutes, type Route } from './ws-routes.js';
import { retrySchedule, wait, watchdog, type Watchdog } from './reconnect.js';
import type { ReconnectOptions } from './reconnect.js';
import { messageText, openWebSocket, type WsSocketOptions } from './ws-socket.js';

export interface WsConnectionOptions extends WsSocketOptions {
  reconnect: ReconnectOptions;
  /** A socket silent this long (ms) while streams are open is given up and reconnected; a `ping` goes at a third of it. 0: never. */
  heartbeatTimeoutMs: number;
  /** Cancels over HTTP with the stream's token, when the socket is down (a cancel is always immediate). */
  cancelOverHttp: (streamId: string, token: string | undefined) => Promise<void>;
  /** Decides over HTTP with the stream's token, when the socket is down. */
  decideOverHttp: (callId: string, decision: 'approve' | 'deny', token: string | undefined, options?: DecisionOptions) => Promise<void>;
  /** A client tool's answer when the socket is not open: `POST /api/tool-outputs/:callId` with the stream's token. */
  answerOverHttp: (callId: string, body: ToolOutputBody, token: string | undefined) => Promise<void>;
}

/** The one WebSocket a client shares between all its streams. */
export interface WsConnection {
  /** Opens the socket if it is not open; rejects with the reason when it cannot. */
  ready(options?: { retry?: boolean }): Promise<void>;
  /** Starts a chat on the socket (which must be ready) and routes its frames to `sink`. */
  start(request: ChatRequest, sink: StreamSink): void;
  /** Views a stream the server already named, from `ref.lastSeq` (the socket must be ready). */
  resume(ref: StreamRef, sink: StreamSink): void;
  close(): void;
}

const OPEN = 1;
/** Errors that answer a `resume` the server could not serve: the view ends without a `done`. */
const VIEW_REFUSED: ReadonlySet<string> = new Set(['stream_expired', 'resume_ahead', 'unknown_stream', 'forbidden']);
/** After a failed connect, `ready()` fails fast for this long instead of waiting again. */
const FAILED_CONNECT_COOLDOWN_MS = 5_000;
/** A wake-up (network back, tab shown) probes a socket silent at least this long, and gives it this long to answer. */
const WAKE_SILENCE_MS = 1_000;
const WAKE_PROBE_MS = 2_000;
/** The close code `dropConnection()` uses: an application code (RFC 6455 §7.4.2), not an error. */
const DROP_CLOSE_CODE = 4000;

/**
 * Multiplexes streams over one socket by stream id (routing: ws-routes.ts; opening:
 * ws-socket.ts). When the socket drops with streams open it reconnects with backoff and sends
 * `resume` with each stream's last seq and token; the server's answer reconciles each stream
 * (the frames it missed, `done` again, or a typed refusal), and the stream drops what it has.
 * A chat whose `start` the server had not answered is started again with the same idempotency
 * key (protocol minor 3), which the server answers with the stream it already runs.
 * The token makes the new socket the stream's owner, so decisions go over the socket whenever
 * it is open, and over HTTP with the token when it is not.
 */
export function createWsConnection(options: WsConnectionOptions): WsConnection {
  let socket: WebSocketLike | undefined;
  let opening: Promise<void> | undefined;
  let failedAt = -Infinity;
  let failure = '';
  let closed = false;
  let reconnecting = false;
  /** Ends the running reconnect's backoff wait (its timer and its wake-ups listener) when the client closes. */
  let stopReconnect: AbortController | undefined;
  const routes = createWsRoutes();

  const send = (frame: ClientFrame): boolean => {
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  };

  const sendResume = (route: Route) => {
    if (route.streamId === undefined) return false;
    const token = route.sink.token;
    return send({ type: 'resume', streamId: route.streamId, lastSeq: route.sink.lastSeq, ...(token ? { token } : {}) });
  };

  /** Watches the open socket while it carries streams: silence means a dead path TCP has not reported. */
  let dog: Watchdog | undefined;
  let offWake: (() => void) | undefined;
  const ping = () => void send({ type: 'ping' });
  function watch(opened: WebSocketLike): void {
    dog?.stop();
    offWake?.();
    const giveUp = () => {
      // Treat it as closed now: a dead path may take minutes to close, and the streams wait.
      socketOnClose(opened);
      try {
        opened.close(DROP_CLOSE_CODE, 'silent');
      } catch {
        // Already closing.
      }
    };
    const watching = watchdog(options.heartbeatTimeoutMs, { onSilent: () => (routes.size > 0 ? giveUp() : watching.heard()), onQuiet: () => routes.size > 0 && ping() });
    dog = watching;
    offWake = options.reconnect.wakeups.on(() => {
      if (routes.size === 0 || watching.silentMs() < WAKE_SILENCE_MS) return;
      // The network came back or the page was shown: ask, and give the socket a moment to answer.
      ping();
      const asked = performance.now();
      const check = setTimeout(() => watching.silentMs() >= performance.now() - asked && socket === opened && giveUp(), WAKE_PROBE_MS);
      (check as { unref?: () => void }).unref?.();
    });
  }

  function socketOnMessage(event: { data: unknown }): void {
    dog?.heard();
    const text = messageText(event.data);
    if (text === undefined) return;
    const decoded = decodeServerFrame(text);
    if (!decoded.ok) return;
    const frame = decoded.value;
    const found = routes.routeOf(frame);
    if (!found) return;
    const { route } = found;
    if (found.bound && route.cancelled) send({ type: 'cancel', streamId: frame.streamId });
    route.sink.bytes(utf8Length(text));
    if (route.streamId === undefined && frame.type === 'error') {
      // The stream never started, so no `done` will follow.
      routes.forget(route);
      route.sink.frame(frame, text);
      route.sink.fail(route.sink.error ? undefined : connectionLost('the server refused the stream'));
      return;
    }
    route.sink.frame(frame, text);
    if (frame.type === 'done' || route.sink.ended) return routes.forget(route);
    if (frame.type === 'error' && VIEW_REFUSED.has(frame.code)) {
      // A resume the server refused: no `done` follows on this socket.
      route.sink.fail();
      return routes.forget(route);
    }
    if (frame.type === 'error' && frame.code === 'slow_consumer' && route.streamId !== undefined) {
      // The server dropped this view for reading too slowly; the socket is fine: view it again.
      if (options.reconnect.maxAttempts !== undefined && route.sink.reconnects >= options.reconnect.maxAttempts) return void route.sink.fail();
      route.sink.reconnecting();
      if (sendResume(route)) route.sink.attached();
    }
  }

  function socketOnClose(closedSocket: WebSocketLike): void {
    if (socket !== closedSocket) return;
    socket = undefined;
    dog?.stop();
    offWake?.();
    dog = offWake = undefined;
    if (closed) return;
    for (const route of routes.all()) {
      if (route.sink.ended) routes.forget(route);
      else route.sink.lost();
    }
    if (routes.size > 0) void reconnect();
  }

  async function reconnect(): Promise<void> {
    if (reconnecting) return;
    reconnecting = true;
    const schedule = retrySchedule(options.reconnect);
    const stop = (stopReconnect = new AbortController());
    try {
      for (let ms = schedule.next(); ms !== undefined && !closed && routes.size > 0; ms = schedule.next()) {
        await wait(ms, stop.signal, options.reconnect.wakeups);
        if (closed) return;
        failedAt = -Infinity;
        try {
          await ready();
        } catch {
          continue;
        }
        for (const route of routes.named()) {
          if (route.sink.ended) continue;
          route.sink.reconnecting();
          if (sendResume(route)) route.sink.attached();
        }
        // Dropped before the server's `start` arrived: the same start with the same
        // key gets the stream the server already runs, from its `start` frame, not a second one.
        for (const route of routes.pending()) {
          if (!route.start || route.sink.ended) {
            routes.forget(route);
            route.sink.fail(connectionLost('the socket closed before the stream started'));
            continue;
          }
          route.sink.reconnecting();
          send(route.start);
        }
        return;
      }
      for (const route of routes.all()) route.sink.fail(connectionLost(route.streamId === undefined ? 'the WebSocket closed before the stream started and did not reopen' : 'the WebSocket closed and did not reopen'));
      routes.clear();
    } finally {
      reconnecting = false;
      if (stopReconnect === stop) stopReconnect = undefined;
    }
  }

  /** `retry`: a deliberate new attempt, not held back by the cooldown of a failed one. */
  function ready(readyOptions: { retry?: boolean } = {}): Promise<void> {
    if (closed) return Promise.reject(new Error('the client is closed'));
    if (readyOptions.retry) failedAt = -Infinity;
    if (socket && socket.readyState === OPEN) return Promise.resolve();
    if (performance.now() - failedAt < FAILED_CONNECT_COOLDOWN_MS) return Promise.reject(new Error(failure));
    opening ??= openWebSocket(options, { message: socketOnMessage, close: socketOnClose })
      .then((opened) => {
        socket = opened;
        watch(opened);
      })
      .catch((error: unknown) => {
        failedAt = performance.now();
        failure = error instanceof Error ? error.message : String(error);
        throw error;
      })
      .finally(() => (opening = undefined));
    return opening;
  }

  /** How a stream on this socket is cancelled, decided and dropped. */
  function attach(route: Route): void {
    route.sink.use('ws', {
      cancel() {
        if (route.streamId === undefined) {
          route.cancelled = true;
          return;
        }
        if (!send({ type: 'cancel', streamId: route.streamId })) void options.cancelOverHttp(route.streamId, route.sink.token).catch(() => {});
        routes.forget(route);
      },
      async decide(callId, decision, decided) {
        const frame: ClientFrame = { type: decision, callId, ...decided };
        // Over the socket when there is one: it started the stream or resumed it with its token.
        if (send(frame)) return;
        return options.decideOverHttp(callId, decision, route.sink.token, decided);
      },
      async answer(callId, body, sent) {
        // The socket carries it when open (the server answers a refusal with an error frame); else HTTP.
        // A resend goes over HTTP: its expected refusal (`already_decided`) then comes back to it, not to the stream.
        if (!sent?.resend && send({ type: 'tool_output', callId, ...body })) return;
        return options.answerOverHttp(callId, body, route.sink.token);
      },
      drop() {
        socket?.close(DROP_CLOSE_CODE, 'dropConnection()');
      },
    });
  }

  return {
    ready,
    start(request, sink) {
      const clientId = newClientId();
      const frame: ClientFrameOf<'start'> = { type: 'start', id: clientId, idempotencyKey: newIdempotencyKey(), ...request };
      const route: Route = { clientId, streamId: undefined, sink, cancelled: false, start: frame };
      routes.addPending(route);
      attach(route);
      if (!send(frame)) {
        routes.forget(route);
        sink.fail(connectionLost('the WebSocket is not open'));
      }
    },
    resume(ref, sink) {
      const route: Route = { clientId: newClientId(), streamId: ref.streamId, sink, cancelled: false };
      // The server keeps one view of a stream per socket: a second one here would steal the first's frames.
      if (!routes.addNamed(route)) return sink.fail(new TokenwireError('invalid_request', `This client already views stream ${ref.streamId}.`));
      attach(route);
      if (!sendResume(route)) {
        routes.forget(route);
        sink.fail(connectionLost('the WebSocket is not open'));
      }
    },
    close() {
      closed = true;
      stopReconnect?.abort();
      dog?.stop();
      offWake?.();
      routes.clear();
      socket?.close(1000, 'client closed');
      socket = undefined;
    },
  };
}
