import { TokenwireError } from '../shared/errors.js';
import { decodeServerFrame } from '../shared/frame-codec.js';
import { newIdempotencyKey } from '../shared/ids.js';
import { HEADERS, type ChatRequest } from '../shared/protocol.js';
import { createSseParser } from '../shared/sse.js';
import type { StreamSink } from './chat-stream.js';
import { joinUrl } from './base-url.js';
import { retrySchedule, wait, watchdog, type ReconnectOptions } from './reconnect.js';
import { connectionLost, deleteStream, errorFromResponse, postDecision, postToolOutput, requestHeaders, type HttpDeps } from './http.js';

export interface SseDeps extends HttpDeps {
  reconnect: ReconnectOptions;
  /** A connection silent this long (ms) is dropped and resumed; 0: never. */
  heartbeatTimeoutMs: number;
}

/** A wake-up (network back, tab shown) drops a connection silent at least this long: it may be dead. */
const WAKE_SILENCE_MS = 1_000;

/** The SSE event as it was on the wire, for the frame inspector. */
const rawEvent = (event: { id?: string | undefined; event?: string | undefined; data: string }) =>
  `${event.id !== undefined ? `id: ${event.id}\n` : ''}${event.event ? `event: ${event.event}\n` : ''}data: ${event.data}`;

/**
 * Carries one chat over SSE: `POST /api/chat`, the body read through the shared incremental
 * parser, tool decisions over `POST /api/approvals/:callId` with the stream's approval token,
 * cancel with `DELETE /api/streams/:id` and that token (then the request is aborted): the
 * server stops the model at once, whatever the resume window. A body that ends
 * before `done` is resumed with `GET /api/streams/:id` and `Last-Event-ID`; one that ends
 * before the `start` event is posted again with the same `Idempotency-Key`, so the server
 * answers with the stream it already runs. Without a request (`client.resume`) it
 * starts with that GET.
 */
export function runSseStream(deps: SseDeps, request: ChatRequest | undefined, sink: StreamSink): void {
  const abort = new AbortController();
  /** The current HTTP request only: `drop()` aborts it and the stream resumes. */
  let connection = new AbortController();
  let approvalToken = sink.token;
  let streamId = sink.streamId;
  let retryMs = 1_000;
  let cancelled = false;
  /** One key for every POST of this chat: a repeat gets the stream the first one started. */
  const idempotencyKey = request ? newIdempotencyKey() : undefined;

  /** Cancels on the server once the `start` frame named the stream; true when it could. */
  const cancelOnServer = (): boolean => {
    if (streamId === undefined) return false;
    void deleteStream(deps, streamId, approvalToken).catch(() => {});
    abort.abort();
    return true;
  };

  const parser = createSseParser({
    onEvent(event) {
      const decoded = decodeServerFrame(event.data);
      // A frame this client cannot read (a newer server) is skipped, not fatal.
      if (!decoded.ok) return;
      if (decoded.value.type === 'start') {
        approvalToken = decoded.value.streamToken ?? decoded.value.approvalToken;
        streamId = decoded.value.streamId;
        // Cancelled before the stream was named: now it can be cancelled on the server.
        if (cancelled) cancelOnServer();
      }
      sink.frame(decoded.value, rawEvent(event));
    },
    onRetry: (ms) => (retryMs = ms),
    onError: (error) => sink.fail(new TokenwireError('payload_too_large', 'An SSE event was too large.', { cause: error })),
  });

  async function open(resume: boolean): Promise<Response> {
    connection = new AbortController();
    const signal = AbortSignal.any([abort.signal, connection.signal]);
    if (!resume && request) {
      return deps.fetch(joinUrl(deps.baseUrl, '/api/chat'), {
        method: 'POST',
        // An sf-string, as draft-ietf-httpapi-idempotency-key-header writes it.
        headers: await requestHeaders(deps, { 'content-type': 'application/json', accept: 'text/event-stream', [HEADERS.idempotencyKey]: `"${idempotencyKey}"` }),
        body: JSON.stringify(request),
        signal,
      });
    }
    // The stream's token has its own header, so an app's own Authorization header stays its own.
    const url = joinUrl(deps.baseUrl, `/api/streams/${encodeURIComponent(sink.streamId ?? '')}`);
    const own: Record<string, string> = { accept: 'text/event-stream', 'last-event-id': String(sink.lastSeq) };
    if (approvalToken) own[HEADERS.streamToken] = approvalToken;
    return deps.fetch(url, {
      headers: await requestHeaders(deps, own),
      signal,
    });
  }

  async function read(response: Response): Promise<void> {
    if (!response.body) return;
    const reader = response.body.getReader();
    // The server writes a heartbeat comment at least every HEARTBEAT_MS: silence means a dead path.
    const silent = () => connection.abort(new Error(`no byte from the server for ${deps.heartbeatTimeoutMs} ms`));
    const dog = watchdog(deps.heartbeatTimeoutMs, { onSilent: silent });
    const offWake = deps.reconnect.wakeups.on(() => {
      if (dog.silentMs() >= WAKE_SILENCE_MS) connection.abort(new Error('the network came back or the page was shown again'));
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        // After a cancel, read on only until the `start` frame names the stream to cancel.
        if (done || abort.signal.aborted || (sink.ended && !(cancelled && streamId === undefined))) return;
        dog.heard();
        sink.bytes(value.byteLength);
        parser.feed(value);
      }
    } finally {
      dog.stop();
      offWake();
      // Done, failed or cancelled: let go of the body either way.
      void reader.cancel().catch(() => {});
    }
  }

  async function run(): Promise<void> {
    const schedule = retrySchedule(deps.reconnect);
    let reattaching = false;
    while (!sink.ended) {
      let lost: unknown;
      const before = sink.lastSeq;
      try {
        // Until the `start` event named the stream, posting again (same key) is how to get it.
        const response = await open(sink.streamId !== undefined || !request);
        // 204: the stream is done and this client has its `done`; nothing to resume.
        if (response.status === 204) return sink.fail(connectionLost('the stream had already ended'));
        if (!response.ok) return sink.fail(await errorFromResponse(response));
        // A re-attach counts once the server took it, as on the WebSocket: attempts that
        // never reached it are not reconnects.
        if (reattaching) sink.reconnecting();
        reattaching = false;
        sink.attached();
        parser.reset();
        await read(response);
      } catch (error) {
        lost = error;
      }
      // Progress since the last drop: a new drop gets a new window.
      if (sink.lastSeq > before) schedule.progressed();
      if (sink.ended || abort.signal.aborted) return;
      sink.lost();
      // The body ended before `done`: re-attach from the last frame seen, or start again with the key.
      const ms = sink.streamId === undefined && !request ? undefined : schedule.next();
      if (ms === undefined) {
        const when = sink.streamId === undefined ? 'before the stream started' : 'before the stream was done';
        return sink.fail(connectionLost(`the event stream ended ${when}`, lost));
      }
      // Never slower than the server's `retry:` (WHATWG HTML §9.2, the reconnection time).
      await wait(Math.min(retryMs, ms), abort.signal, deps.reconnect.wakeups);
      if (abort.signal.aborted) return;
      reattaching = true;
    }
  }

  sink.use('sse', {
    cancel() {
      cancelled = true;
      if (!cancelOnServer() && sink.streamId !== undefined) abort.abort();
    },
    decide: (callId, decision, options) => postDecision(deps, callId, decision, approvalToken, options),
    answer: (callId, body) => postToolOutput(deps, callId, body, sink.token),
    drop: () => connection.abort(new Error('dropConnection()')),
  });
  void run();
}
