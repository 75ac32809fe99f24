import type { ViewStart } from './stream-view.js';
import { answerWithoutView, runSseView, sseResponseHeaders, type SseEncoder, type SseView } from './sse-view.js';

/** Body bytes a web response queues before the view counts its reader as behind. */
const HIGH_WATER_BYTES = 64 * 1024;

export interface SseResponseOptions {
  heartbeatMs: number;
  /** `retry:` first (an EventSource's reconnection time); none for protocols that reconnect their own way. */
  retryMs?: number | undefined;
  /** Bytes this view may queue behind a slow reader before it is dropped with `slow_consumer`. */
  maxBufferedBytes: number;
  /** The last seq the client has (-1: none). */
  afterSeq: number;
  /** The request's signal: its abort is the client leaving. */
  signal?: AbortSignal | undefined;
  /** What the frames become on the wire; tokenwire's own frames by default. */
  encoder?: SseEncoder | undefined;
  /** Response headers beside the SSE ones (a protocol's own, e.g. the AI SDK's). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** A HEAD request: the head only, and no viewer. */
  head?: boolean | undefined;
}

/** A view that cannot start as a web Response: 204 after `done`, else the typed error as JSON. */
export function answerStartAsResponse(start: Exclude<ViewStart, { status: 'ok' }>): Response {
  const answer = answerWithoutView(start);
  return new Response(answer.body ?? null, { status: answer.status, headers: answer.body ? { 'content-type': 'application/json; charset=utf-8' } : {} });
}

/**
 * An opened view as a web-standard `Response` whose body is the shared SSE view (sse-view.ts).
 * The ReadableStream's byte queue is the backpressure; `signal` (the request's) or a cancelled
 * body is the client leaving.
 */
export function viewAsResponse(start: Extract<ViewStart, { status: 'ok' }>, streamId: string, options: SseResponseOptions): Response {
  const headers = { ...sseResponseHeaders(streamId), ...options.headers };
  if (options.head) {
    start.detach();
    return new Response(null, { status: 200, headers });
  }
  if (options.signal?.aborted) {
    start.detach();
    // The client left while the log was read: nobody reads this answer (499 is nginx's "client closed request").
    return new Response(null, { status: 499 });
  }
  const encoder = new TextEncoder();
  let view: SseView | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let closed = false;
        const requestOnAbort = () => view?.close();
        view = runSseView(
          start,
          {
            write(chunk) {
              if (closed) return false;
              controller.enqueue(encoder.encode(chunk));
              return (controller.desiredSize ?? 0) > 0;
            },
            end(chunk) {
              if (closed) return;
              if (chunk) controller.enqueue(encoder.encode(chunk));
              closed = true;
              controller.close();
              options.signal?.removeEventListener('abort', requestOnAbort);
            },
            get bufferedBytes() {
              return Math.max(0, HIGH_WATER_BYTES - (controller.desiredSize ?? 0));
            },
          },
          { heartbeatMs: options.heartbeatMs, retryMs: options.retryMs, maxBufferedBytes: options.maxBufferedBytes, streamId, afterSeq: options.afterSeq, encoder: options.encoder },
        );
        if (!closed) options.signal?.addEventListener('abort', requestOnAbort, { once: true });
      },
      pull() {
        view?.drain();
      },
      cancel() {
        view?.close();
      },
    },
    // Count bytes, so desiredSize is a byte figure.
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, { status: 200, headers });
}
