import { HEADERS, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { encodeSse, encodeSseComment } from '../../shared/sse.js';
import type { StreamRecord } from '../streams/hub.js';
import { viewStartError, type ViewStart } from './stream-view.js';
import { tokenwireFrames, type SseEncoder } from './sse-encoder.js';
import { sharedTicker } from './shared-ticker.js';

export { coalesceTokens, encodeViewError, tokenwireFrames, type SseEncoder } from './sse-encoder.js';

/**
 * The headers of every SSE response tokenwire writes (WHATWG HTML §9.2 `text/event-stream`):
 * no caching or transforming proxies, nginx's buffering off, the stream's id and protocol
 * version. Node's Connection header is added by the Express adapter; a web Response has none.
 */
export const sseResponseHeaders = (streamId: string): Record<string, string> => ({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  [HEADERS.streamId]: streamId,
  [HEADERS.protocol]: String(PROTOCOL_VERSION),
});

/** Where an SSE view writes: a Node `ServerResponse` (sse.ts) or a web `ReadableStream` (sse-web.ts). */
export interface SseSink {
  /** Writes a chunk; false when the reader is behind, and the view waits for `drain()`. */
  write(chunk: string): boolean;
  /** Ends the response, after a last chunk if given. */
  end(chunk?: string): void;
  /** Bytes written and not yet taken by the reader. */
  readonly bufferedBytes: number;
}

export interface SseViewOptions {
  streamId: string;
  heartbeatMs: number;
  /**
   * Sent first as `retry:`, an EventSource's reconnection time (WHATWG HTML §9.2.6); left out
   * for protocols whose clients reconnect their own way.
   */
  retryMs?: number | undefined;
  /** Bytes this view may queue behind a slow reader before it is dropped with `slow_consumer`. */
  maxBufferedBytes: number;
  /** The last seq the client has (-1: none): a drop names it until a later frame is written. */
  afterSeq: number;
  /** Called when this view is dropped for reading too slowly (for a metric). */
  onSlowConsumer?: (() => void) | undefined;
  /** What the frames become on the wire; tokenwire's own frames by default. */
  encoder?: SseEncoder | undefined;
}

/** What the adapter tells a running view. */
export interface SseView {
  /** The reader caught up: send what waited. */
  drain(): void;
  /** The client went away. */
  close(): void;
}

const HEARTBEAT = encodeSseComment('hb');

/**
 * The Server-Sent Events view of a stream, runtime-neutral: one view for Express, the web
 * adapter and the interop protocols, which differ only in their encoder. `retry:`, the
 * encoder's opening bytes, catch-up and live frames, heartbeats, backpressure through the
 * sink with a bound, the end of the response where the encoder says (after `done`, for
 * tokenwire's frames). A reader that falls past the bound is dropped (`slow_consumer`), and
 * the stream keeps generating so it can resume.
 */
export function runSseView(opened: Extract<ViewStart, { status: 'ok' }>, sink: SseSink, options: SseViewOptions): SseView {
  const view = new ViewState(opened, sink, options);
  // The only functions made per view: what the ticker and the store call, bound (no scope of
  // their own). One timer serves every view with this period: an idle view holds none.
  const heartbeat = view.beat.bind(view);
  view.heartbeat = heartbeat;
  sharedTicker(options.heartbeatMs).add(heartbeat);
  if (options.retryMs !== undefined) view.write(encodeSse({ retry: options.retryMs }));
  const head = view.encoder.open();
  if (head) view.write(head);
  view.replaying = true;
  opened.start(view.send.bind(view));
  view.replaying = false;
  if (!view.ended && view.encoder.caughtUp()) view.endNormally();
  view.slack = view.queuedBytes + sink.bufferedBytes;
  return view;
}

/**
 * A running view's state, its methods on the prototype: a view lives as long as its
 * connection, most of it parked, and helpers made as closures were seven functions and a
 * context per view.
 */
class ViewState implements SseView {
  readonly opened: Extract<ViewStart, { status: 'ok' }>;
  readonly sink: SseSink;
  // The options it uses as fields, not the options object (a copy per view).
  readonly streamId: string;
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  readonly onSlowConsumer: (() => void) | undefined;
  readonly encoder: SseEncoder;
  heartbeat: (() => void) | undefined;
  ended = false;
  blocked = false;
  // Frames that wait behind a slow reader; the encoder writes them together (merging tokens).
  queued: StreamRecord[] = [];
  queuedBytes = 0;
  written: number;
  // The catch-up replay may be larger than the bound (it is bounded by the log's budget): it
  // raises the bound by its own size until the reader has taken it.
  replaying = false;
  slack = 0;

  constructor(opened: Extract<ViewStart, { status: 'ok' }>, sink: SseSink, options: SseViewOptions) {
    this.opened = opened;
    this.sink = sink;
    this.streamId = options.streamId;
    this.heartbeatMs = options.heartbeatMs;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.onSlowConsumer = options.onSlowConsumer;
    this.encoder = options.encoder ?? tokenwireFrames;
    this.written = options.afterSeq;
  }

  finish(reason: 'left' | 'dropped'): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) sharedTicker(this.heartbeatMs).remove(this.heartbeat);
    this.opened.detach(reason);
  }

  close(): void {
    this.finish('left');
  }

  beat(): void {
    if (!this.blocked && !this.ended) this.write(HEARTBEAT);
  }

  write(chunk: string, seq?: number): void {
    if (seq !== undefined) this.written = seq;
    // A frame may encode to nothing (a protocol has no event for it); an empty HTTP/1.1 chunk would end the body.
    if (chunk && !this.sink.write(chunk)) this.blocked = true;
  }

  take(): string {
    const out = this.encoder.backlog(this.queued);
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  send(record: StreamRecord): void {
    if (this.ended) return;
    const { sink } = this;
    const ends = this.encoder.accept(record, this.replaying);
    if (this.blocked) {
      this.queued.push(record);
      this.queuedBytes += record.json.length + 32;
      if (!this.replaying && this.queuedBytes + sink.bufferedBytes > this.maxBufferedBytes + this.slack) {
        // What is queued is never written: the drop names the last frame that was.
        this.onSlowConsumer?.();
        sink.end(this.encoder.dropped(this.streamId, this.written));
        return this.finish('dropped');
      }
    } else {
      this.write(this.encoder.frame(record), record.frame.seq);
    }
    if (ends) this.endNormally();
  }

  /** Ends the response where the encoder said; what waits behind a slow reader still goes out (it is bounded by maxBufferedBytes). */
  endNormally(): void {
    const tail = this.take() + this.encoder.close();
    this.sink.end(tail || undefined);
    this.finish('left');
  }

  drain(): void {
    this.blocked = false;
    if (!this.ended && this.queued.length) {
      const seq = (this.queued.at(-1) as StreamRecord).frame.seq;
      this.write(this.take(), seq);
    }
    this.slack = Math.min(this.slack, this.sink.bufferedBytes);
  }
}

/**
 * The HTTP answer to an SSE view that cannot start: `204 No Content` after `done`, which stops
 * a browser's EventSource from reconnecting (WHATWG HTML §9.2.1); otherwise the typed error,
 * with `firstSeq` beside the code for `stream_expired`.
 */
export function answerWithoutView(start: Exclude<ViewStart, { status: 'ok' }>): { status: number; body: string | undefined } {
  const error = viewStartError(start);
  if (!error) return { status: 204, body: undefined };
  const extra = start.status === 'expired' ? { firstSeq: start.firstSeq } : {};
  return { status: error.status, body: JSON.stringify({ error: { code: error.code, message: error.message, ...extra } }) };
}
