import { TokenwireError } from '../shared/errors.js';
import { parseWith } from '../shared/frame-codec.js';
import { ChatRequest } from '../shared/protocol.js';
import { createChatStream, type StreamSink } from './chat-stream.js';
import { checkBaseUrl, toWebSocketUrl } from './base-url.js';
import { deleteStream, postDecision, postToolOutput, type HttpDeps } from './http.js';
import { DEFAULT_BATCH_MS } from './render-batcher.js';
import { pageWakeups, retrySchedule, wait, type ReconnectOptions } from './reconnect.js';
import { runSseStream } from './sse-transport.js';
import type { ChatClient, ChatClientOptions, ChatInput, ChatStream, StreamRef, TransportName, WebSocketCtor } from './types.js';
import { createWsConnection, type WsConnection } from './ws-connection.js';

/** The resume window the client asks for unless told otherwise: disconnect is not cancel. */
export const DEFAULT_RESUME_GRACE_MS = 30_000;
/** Three of the server's default heartbeats (HEARTBEAT_MS, 15 s): one lost comment is not a dead path. */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 45_000;

function defaultBaseUrl(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!origin) throw new TypeError('createChatClient: baseUrl is required outside a browser page');
  return origin;
}

/**
 * A chat client for one tokenwire server. Each `chat()` returns a stream with the same API over
 * SSE or WebSocket; all WebSocket streams of a client share one socket.
 *
 * @throws TypeError when `baseUrl` is not an absolute http(s) URL or has a query or fragment,
 * when `wsPath` is not a path, or outside a browser page without a `baseUrl`.
 */
export function createChatClient(options: ChatClientOptions = {}): ChatClient {
  const baseUrl = options.baseUrl ?? defaultBaseUrl();
  checkBaseUrl(baseUrl);
  // Built now, so a bad `wsPath` fails here and not at the first WebSocket chat.
  const wsUrl = toWebSocketUrl(baseUrl, options.wsPath ?? '/ws');
  const http: HttpDeps = {
    baseUrl,
    // Bound: a bare `window.fetch` reference throws "Illegal invocation" when called.
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    headers: options.headers,
  };
  const choice = options.transport ?? 'auto';
  const resumeGraceMs = options.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS;
  const reconnect: ReconnectOptions = {
    windowMs: options.reconnectWindowMs ?? resumeGraceMs,
    maxAttempts: options.maxReconnects,
    wakeups: options.wakeups ?? pageWakeups(),
  };
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const sse = { ...http, reconnect, heartbeatTimeoutMs };
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  const open = new Set<ChatStream>();
  let connection: WsConnection | undefined;
  let closed = false;

  const ws = (): WsConnection => {
    if (!WebSocketImpl) throw new Error('no WebSocket implementation is available');
    connection ??= createWsConnection({
      url: wsUrl,
      WebSocket: WebSocketImpl,
      headers: options.headers,
      wsAuthToken: options.wsAuthToken,
      connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
      reconnect,
      heartbeatTimeoutMs,
      decideOverHttp: (callId, decision, token, options) => postDecision(http, callId, decision, token, options),
      answerOverHttp: (callId, body, token) => postToolOutput(http, callId, body, token),
      cancelOverHttp: (streamId, token) => deleteStream(http, streamId, token),
    });
    return connection;
  };

  const pickTransport: ChatClient['pickTransport'] = (input) => {
    const wanted = input.transport ?? choice;
    if (wanted !== 'auto') return wanted;
    // The browser talks back during the stream: approvals want the socket.
    return (input.tools?.length ?? 0) > 0 || input.interactive === true ? 'ws' : 'sse';
  };

  async function startWs(request: ChatRequest, sink: StreamSink, auto: boolean): Promise<void> {
    const schedule = retrySchedule(reconnect);
    for (let retry = false; ; retry = true) {
      try {
        const connection = ws();
        await connection.ready({ retry });
        if (sink.ended) return;
        return connection.start(request, sink);
      } catch (error) {
        if (sink.ended) return;
        const reason = error instanceof Error ? error.message : String(error);
        if (auto) {
          sink.fallback({ from: 'ws', to: 'sse', reason });
          return runSseStream(sse, request, sink);
        }
        // Nothing was sent yet: a connect that failed (a blip, a proxy's cut) is tried again
        // within the resume window, as a drop is, before the chat fails.
        const ms = schedule.next();
        if (ms === undefined || closed) return sink.fail(new TokenwireError('connection_lost', `The WebSocket could not connect: ${reason}.`, { cause: error }));
        await wait(ms, new AbortController().signal, reconnect.wakeups);
        if (sink.ended) return;
      }
    }
  }

  const track = (stream: ChatStream) => {
    open.add(stream);
    void stream.result.then(() => open.delete(stream));
  };

  function chat(input: ChatInput): ChatStream {
    const transport: TransportName = pickTransport(input);
    const { stream, sink } = createChatStream({ transport, batchMs: input.batchMs ?? options.batchMs ?? DEFAULT_BATCH_MS, clientTools: options.clientTools });
    track(stream);

    const body = parseWith(ChatRequest, {
      messages: input.messages,
      ...(input.tools?.length ? { tools: input.tools } : {}),
      options: { ...(resumeGraceMs > 0 ? { resumeGraceMs } : {}), ...input.options },
    });
    // Everything starts on a later task, so listeners attached right after `chat()` see it all.
    queueMicrotask(() => {
      if (sink.ended) return;
      if (closed) return sink.fail(new TokenwireError('internal', 'The client is closed.'));
      if (!body.ok) return sink.fail(new TokenwireError('invalid_request', `The chat request is not valid: ${body.message}.`));
      if (transport === 'ws') void startWs(body.value, sink, (input.transport ?? choice) === 'auto');
      else runSseStream(sse, body.value, sink);
    });
    return stream;
  }

  function resume(ref: StreamRef, resumeOptions: { batchMs?: number } = {}): ChatStream {
    const { stream, sink } = createChatStream({
      transport: ref.transport,
      batchMs: resumeOptions.batchMs ?? options.batchMs ?? DEFAULT_BATCH_MS,
      resumeOf: ref,
      clientTools: options.clientTools,
    });
    track(stream);
    queueMicrotask(() => {
      if (sink.ended) return;
      if (closed) return sink.fail(new TokenwireError('internal', 'The client is closed.'));
      if (ref.transport === 'sse') return runSseStream(sse, undefined, sink);
      void (async () => {
        try {
          const connection = ws();
          await connection.ready();
          if (!sink.ended) connection.resume(ref, sink);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          // The stream is the server's: view it over SSE instead of giving up.
          if (!sink.ended) {
            sink.fallback({ from: 'ws', to: 'sse', reason });
            runSseStream(sse, undefined, sink);
          }
        }
      })();
    });
    return stream;
  }

  return {
    chat,
    resume,
    pickTransport,
    close() {
      closed = true;
      for (const stream of open) stream.cancel();
      connection?.close();
    },
  };
}
