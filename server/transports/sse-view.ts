import { TokenwireError } from '../../shared/errors.js';
import { encodeFrameSse } from '../../shared/frame-codec.js';
import { HEADERS, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { encodeSse, encodeSseComment } from '../../shared/sse.js';
import type { StreamRecord } from '../streams/hub.js';
import { viewStartError, type ViewStart } from '../streams/stream-view.js';
import { sharedTicker } from './shared-ticker.js';

/** Where an SSE view writes: a Node `ServerResponse` or a web `ReadableStream` (the adapters). */
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
  retryMs: number;
  /** Bytes this view may queue behind a slow reader before it is dropped with `slow_consumer`. */
  maxBufferedBytes: number;
  /** The last seq the client has (-1: none): a drop names it until a later frame is written. */
  afterSeq: number;
  /** Called when this view is dropped for reading too slowly (for a metric). */
  onSlowConsumer?: (() => void) | undefined;
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
 * An `error` frame for one view only (`slow_consumer`): not in the stream's log and written
 * without `id:`, so Last-Event-ID still points at the last frame delivered. Its `seq` is that
 * frame's, where a resume picks up.
 */
export const encodeViewError = (streamId: string, seq: number, error: TokenwireError): string =>
  encodeSse({
    event: 'error',
    data: JSON.stringify({ type: 'error', streamId, seq: Math.max(seq, 0), code: error.code, message: error.message, retryable: error.retryable }),
  });

/**
 * The Server-Sent Events view of a stream, runtime-neutral (issue #9: one view for Express and
 * the web adapter): `retry:`, catch-up and live frames, heartbeats, backpressure through the
 * sink with a bound, tokens merged behind a slow reader, the end of the response after
 * `done`. A reader that falls past the bound is dropped with `slow_consumer` naming the last
 * seq actually written, and the stream keeps generating so it can resume.
 */
export function runSseView(opened: Extract<ViewStart, { status: 'ok' }>, sink: SseSink, options: SseViewOptions): SseView {
  const view = new ViewState(opened, sink, options);
  // The only functions made per view (issue 14): what the ticker and the store call, bound
  // (no scope of their own).
  const heartbeat = view.beat.bind(view);
  view.heartbeat = heartbeat;
  // One timer for every view with this period (issue 14): an idle view holds no timer of its own.
  sharedTicker(options.heartbeatMs).add(heartbeat);
  view.write(encodeSse({ retry: options.retryMs }));
  view.replaying = true;
  opened.start(view.send.bind(view));
  view.replaying = false;
  view.slack = view.queuedBytes + sink.bufferedBytes;
  return view;
}

/**
 * A running view's state, its methods on the prototype (issue 14): a view lives as long as its
 * connection, most of it parked, and helpers made as closures were seven functions and a
 * context per view.
 */
class ViewState implements SseView {
  readonly opened: Extract<ViewStart, { status: 'ok' }>;
  readonly sink: SseSink;
  // The options it uses as fields, not the options object (a copy per view, issue 14).
  readonly streamId: string;
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  readonly onSlowConsumer: (() => void) | undefined;
  heartbeat: (() => void) | undefined;
  ended = false;
  blocked = false;
  // Frames that wait behind a slow reader; consecutive tokens are merged when they go out.
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
    if (!this.sink.write(chunk)) this.blocked = true;
  }

  take(): string {
    const out = coalesceTokens(this.queued);
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  send(record: StreamRecord): void {
    if (this.ended) return;
    const { sink } = this;
    if (this.blocked) {
      this.queued.push(record);
      this.queuedBytes += record.json.length + 32;
      if (!this.replaying && this.queuedBytes + sink.bufferedBytes > this.maxBufferedBytes + this.slack) {
        // What is queued is never written: the error names the last frame that was.
        this.onSlowConsumer?.();
        sink.end(encodeViewError(this.streamId, this.written, new TokenwireError('slow_consumer')));
        return this.finish('dropped');
      }
    } else {
      this.write(encodeFrameSse(record.frame, record.json), record.frame.seq);
    }
    if (record.frame.type === 'done') {
      // Whatever waits behind a slow reader still goes out: it is bounded by maxBufferedBytes.
      sink.end(this.queued.length ? this.take() : undefined);
      this.finish('left');
    }
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
 * The SSE bytes of frames that waited behind a slow reader, with each run of consecutive
 * tokens merged into one token frame that carries the run's last seq.
 */
export function coalesceTokens(records: StreamRecord[]): string {
  let out = '';
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as StreamRecord;
    if (record.frame.type !== 'token' || records[i + 1]?.frame.type !== 'token') {
      out += encodeFrameSse(record.frame, record.json);
      continue;
    }
    let text = '';
    let last = record;
    for (; i < records.length && records[i]?.frame.type === 'token'; i++) {
      last = records[i] as StreamRecord;
      text += (last.frame as { text: string }).text;
    }
    i--;
    const merged = { ...last.frame, text };
    out += encodeFrameSse(merged, JSON.stringify(merged));
  }
  return out;
}

/**
 * The HTTP answer to an SSE view that cannot start (issue #9): `204 No Content` after `done`,
 * which stops a browser's EventSource from reconnecting; otherwise the typed error, with
 * `firstSeq` beside the code for `stream_expired`.
 */
export function answerWithoutView(start: Exclude<ViewStart, { status: 'ok' }>): { status: number; body: string | undefined } {
  const error = viewStartError(start);
  if (!error) return { status: 204, body: undefined };
  const extra = start.status === 'expired' ? { firstSeq: start.firstSeq } : {};
  return { status: error.status, body: JSON.stringify({ error: { code: error.code, message: error.message, ...extra } }) };
}
