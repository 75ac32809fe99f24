import { decodeServerFrame } from '../shared/frame-codec.js';
import { newClientId } from '../shared/ids.js';
import type { ChatRequest, ClientFrame, ServerFrame } from '../shared/protocol.js';
import type { StreamSink } from './chat-stream.js';
import { connectionLost } from './http.js';
import type { HeadersProvider, WebSocketCtor, WebSocketLike } from './types.js';

export interface WsConnectionOptions {
  url: string;
  WebSocket: WebSocketCtor;
  headers: HeadersProvider | undefined;
  connectTimeoutMs: number;
  maxReconnects: number;
  /** Cancels over HTTP with the stream's token, when the socket is down (a cancel is always immediate). */
  cancelOverHttp: (streamId: string, token: string | undefined) => Promise<void>;
  /** Decides over HTTP with the stream's approval token (a resumed socket does not own the stream). */
  decideOverHttp: (callId: string, decision: 'approve' | 'deny', token: string | undefined, reason?: string) => Promise<void>;
}

/** The one WebSocket a client shares between all its streams. */
export interface WsConnection {
  /** Opens the socket if it is not open; rejects with the reason when it cannot. */
  ready(): Promise<void>;
  /** Starts a chat on the socket (which must be ready) and routes its frames to `sink`. */
  start(request: ChatRequest, sink: StreamSink): void;
  close(): void;
}

interface Route {
  clientId: string;
  streamId: string | undefined;
  sink: StreamSink;
  /** Cancelled before the server's `start` named the stream: cancel as soon as it does. */
  cancelled: boolean;
  approvalToken: string | undefined;
  /** Re-attached on a new socket, which may view and cancel the stream but not decide for it. */
  resumed: boolean;
}

const OPEN = 1;
/** Errors that answer a `resume` the server could not serve: the view ends without a `done`. */
const VIEW_REFUSED: ReadonlySet<string> = new Set(['stream_expired', 'resume_ahead', 'unknown_stream', 'forbidden']);
/** After a failed connect, `ready()` fails fast for this long instead of waiting again. */
const FAILED_CONNECT_COOLDOWN_MS = 5_000;

/** Bytes of a string in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function messageText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data as ArrayBuffer);
  return undefined;
}

/**
 * Multiplexes streams over one socket by stream id. A chat is sent as a `start` frame with a
 * fresh client id; the server's `start` echoes it, which binds the stream id to the route.
 * When the socket drops with streams open it reconnects with backoff and sends `resume` with
 * each stream's last seq; the stream drops the frames it already has. Only the socket that
 * started a stream may decide its tool calls, so after a resume decisions go over HTTP with the
 * approval token from the first `start` frame.
 */
export function createWsConnection(options: WsConnectionOptions): WsConnection {
  let socket: WebSocketLike | undefined;
  let opening: Promise<void> | undefined;
  let failedAt = -Infinity;
  let failure = '';
  let closed = false;
  let reconnecting = false;
  const pending = new Map<string, Route>();
  const streams = new Map<string, Route>();

  const send = (frame: ClientFrame): boolean => {
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  };

  const routeOf = (frame: ServerFrame): Route | undefined => {
    if (frame.type === 'start' && frame.id !== undefined) {
      const route = pending.get(frame.id);
      if (route) {
        pending.delete(frame.id);
        route.streamId = frame.streamId;
        route.approvalToken = frame.streamToken ?? frame.approvalToken;
        streams.set(frame.streamId, route);
        if (route.cancelled) send({ type: 'cancel', streamId: frame.streamId });
        return route;
      }
    }
    // An error about a `start` the server refused may name the client id instead.
    return streams.get(frame.streamId) ?? pending.get(frame.streamId);
  };

  function socketOnMessage(event: { data: unknown }): void {
    const text = messageText(event.data);
    if (text === undefined) return;
    const decoded = decodeServerFrame(text);
    if (!decoded.ok) return;
    const frame = decoded.value;
    const route = routeOf(frame);
    if (!route) return;
    route.sink.bytes(utf8Length(text));
    if (route.streamId === undefined && frame.type === 'error') {
      // The stream never started, so no `done` will follow.
      pending.delete(route.clientId);
      route.sink.frame(frame);
      route.sink.fail(route.sink.error ? undefined : connectionLost('the server refused the stream'));
      return;
    }
    route.sink.frame(frame);
    if (frame.type === 'done' || route.sink.ended) return forget(route);
    if (frame.type === 'error' && VIEW_REFUSED.has(frame.code)) {
      // A resume the server refused: no `done` follows on this socket.
      route.sink.fail();
      return forget(route);
    }
    if (frame.type === 'error' && frame.code === 'slow_consumer' && route.streamId !== undefined) {
      // The server dropped this view for reading too slowly; the socket is fine: view it again.
      if (route.sink.reconnects >= options.maxReconnects) return void route.sink.fail();
      route.sink.reconnecting();
      send({ type: 'resume', streamId: route.streamId, lastSeq: route.sink.lastSeq, ...(route.approvalToken ? { token: route.approvalToken } : {}) });
    }
  }

  function forget(route: Route): void {
    pending.delete(route.clientId);
    if (route.streamId !== undefined) streams.delete(route.streamId);
  }

  function socketOnClose(): void {
    socket = undefined;
    if (closed) return;
    for (const route of [...pending.values(), ...streams.values()]) if (route.sink.ended) forget(route);
    if (pending.size + streams.size > 0) void reconnect();
  }

  async function reconnect(): Promise<void> {
    if (reconnecting) return;
    reconnecting = true;
    // Streams the server never named cannot be resumed.
    for (const route of pending.values()) route.sink.fail(connectionLost('the socket closed before the stream started'));
    pending.clear();
    try {
      for (let attempt = 1; attempt <= options.maxReconnects && !closed && streams.size > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
        failedAt = -Infinity;
        try {
          await ready();
        } catch {
          continue;
        }
        for (const route of streams.values()) {
          if (route.sink.ended || route.streamId === undefined) continue;
          route.sink.reconnecting();
          route.resumed = true;
          send({ type: 'resume', streamId: route.streamId, lastSeq: route.sink.lastSeq, ...(route.approvalToken ? { token: route.approvalToken } : {}) });
        }
        return;
      }
      for (const route of streams.values()) route.sink.fail(connectionLost('the WebSocket closed and did not reopen'));
      streams.clear();
    } finally {
      reconnecting = false;
    }
  }

  async function connect(): Promise<void> {
    const headers = options.headers ? await options.headers() : undefined;
    // Browsers cannot set headers on a WebSocket; `ws` in Node takes them as an option.
    const ws = headers ? new options.WebSocket(options.url, undefined, { headers }) : new options.WebSocket(options.url);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          ws.close();
        } catch {
          // Closing a socket that never opened can throw in some runtimes.
        }
        reject(new Error(reason));
      };
      const timer = setTimeout(() => fail(`no connection within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
      ws.addEventListener('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket = ws;
        resolve();
      });
      ws.addEventListener('error', () => fail('the WebSocket failed to connect'));
      ws.addEventListener('close', (event: { code?: number }) => {
        if (!settled) fail(`the WebSocket closed while connecting (code ${event.code ?? 'unknown'})`);
        else if (socket === ws) socketOnClose();
      });
      ws.addEventListener('message', socketOnMessage);
    });
  }

  function ready(): Promise<void> {
    if (closed) return Promise.reject(new Error('the client is closed'));
    if (socket && socket.readyState === OPEN) return Promise.resolve();
    if (performance.now() - failedAt < FAILED_CONNECT_COOLDOWN_MS) return Promise.reject(new Error(failure));
    opening ??= connect()
      .catch((error: unknown) => {
        failedAt = performance.now();
        failure = error instanceof Error ? error.message : String(error);
        throw error;
      })
      .finally(() => (opening = undefined));
    return opening;
  }

  return {
    ready,
    start(request, sink) {
      const route: Route = { clientId: newClientId(), streamId: undefined, sink, cancelled: false, approvalToken: undefined, resumed: false };
      pending.set(route.clientId, route);
      sink.use('ws', {
        cancel() {
          if (route.streamId === undefined) {
            route.cancelled = true;
            return;
          }
          if (!send({ type: 'cancel', streamId: route.streamId })) void options.cancelOverHttp(route.streamId, route.approvalToken).catch(() => {});
          forget(route);
        },
        async decide(callId, decision, reason) {
          if (route.resumed) return options.decideOverHttp(callId, decision, route.approvalToken, reason);
          const frame: ClientFrame =
            decision === 'approve' ? { type: 'approve', callId } : { type: 'deny', callId, ...(reason ? { reason } : {}) };
          if (!send(frame)) throw connectionLost('the WebSocket is not open');
        },
      });
      if (!send({ type: 'start', id: route.clientId, ...request })) {
        pending.delete(route.clientId);
        sink.fail(connectionLost('the WebSocket is not open'));
      }
    },
    close() {
      closed = true;
      pending.clear();
      streams.clear();
      socket?.close(1000, 'client closed');
      socket = undefined;
    },
  };
}
