import type { ServerResponse } from 'node:http';
import { TokenwireError } from '../../shared/errors.js';
import { encodeFrameSse } from '../../shared/frame-codec.js';
import { HEADERS, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { encodeSse, encodeSseComment } from '../../shared/sse.js';
import type { Stream, StreamRecord } from '../streams/hub.js';

export interface SseViewOptions {
  heartbeatMs: number;
  retryMs: number;
  /** Bytes this view may queue behind a slow reader before it is dropped with `slow_consumer`. */
  maxBufferedBytes: number;
  /** Replay frames after this seq first (-1: from the start). */
  afterSeq: number;
  /** Called when this view is dropped for reading too slowly (for a metric). */
  onSlowConsumer?: () => void;
}

const HEARTBEAT = encodeSseComment('hb');

/**
 * An `error` frame for one view only (`slow_consumer`, `stream_expired`): not in the stream's
 * log and written without `id:`, so Last-Event-ID still points at the last frame delivered.
 */
export const encodeViewError = (streamId: string, seq: number, error: TokenwireError): string =>
  encodeSse({
    event: 'error',
    data: JSON.stringify({ type: 'error', streamId, seq: Math.max(seq, 0), code: error.code, message: error.message, retryable: error.retryable }),
  });

/**
 * Views a stream as Server-Sent Events on one HTTP response: headers flushed at once, catch-up
 * from the log, live frames, heartbeats, `drain`-based backpressure with a bound, and the end
 * of the response after `done`. When the client goes away it detaches, and the hub's policy
 * aborts the generation.
 */
export function serveSse(res: ServerResponse, stream: Stream, options: SseViewOptions): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
    [HEADERS.streamId]: stream.id,
    [HEADERS.protocol]: String(PROTOCOL_VERSION),
  });
  res.flushHeaders();

  const detach = stream.attachViewer();
  let unsubscribe: () => void = () => {};
  let ended = false;
  let blocked = false;
  // Frames that wait behind a slow reader; consecutive tokens are merged when they go out.
  let queued: StreamRecord[] = [];
  let queuedBytes = 0;
  let lastSeq = options.afterSeq;

  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    res.off('drain', resOnDrain);
    res.off('close', resOnClose);
    detach();
  };

  const dropSlowReader = () => {
    options.onSlowConsumer?.();
    res.end(encodeViewError(stream.id, lastSeq, new TokenwireError('slow_consumer')));
    finish();
  };

  const write = (chunk: string) => {
    if (!res.write(chunk)) blocked = true;
  };

  const take = (): string => {
    const out = coalesceTokens(queued);
    queued = [];
    queuedBytes = 0;
    return out;
  };

  function resOnDrain() {
    blocked = false;
    if (queued.length) write(take());
  }

  function resOnClose() {
    // Closed before `done` was written: the client went away.
    finish();
  }

  const send = (record: StreamRecord) => {
    if (ended) return;
    lastSeq = record.frame.seq;
    if (blocked) {
      queued.push(record);
      queuedBytes += record.json.length + 32;
      if (queuedBytes + res.writableLength > options.maxBufferedBytes) return dropSlowReader();
    } else {
      write(encodeFrameSse(record.frame, record.json));
    }
    if (record.frame.type === 'done') {
      // Whatever waits behind a slow reader still goes out: it is bounded by maxBufferedBytes.
      res.end(queued.length ? take() : undefined);
      finish();
    }
  };

  res.on('drain', resOnDrain);
  res.on('close', resOnClose);
  const heartbeat = setInterval(() => !blocked && write(HEARTBEAT), options.heartbeatMs);

  write(encodeSse({ retry: options.retryMs }));
  const backlog = stream.readFrom(options.afterSeq);
  if (!backlog) {
    res.end(encodeViewError(stream.id, 0, new TokenwireError('stream_expired', 'The frames after that event are no longer kept.')));
    finish();
    return;
  }
  res.cork();
  for (const record of backlog) send(record);
  process.nextTick(() => res.uncork());
  if (!ended) unsubscribe = stream.subscribe(send);
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
