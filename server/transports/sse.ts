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
}

const HEARTBEAT = encodeSseComment('hb');

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
  let queued: string[] = [];
  let queuedBytes = 0;
  let lastSeq = options.afterSeq;

  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    res.off('drain', resNoDrain);
    res.off('close', resOnClose);
    detach();
  };

  const dropSlowReader = () => {
    const error = new TokenwireError('slow_consumer');
    const frame = { type: 'error', streamId: stream.id, seq: Math.max(lastSeq, 0), code: error.code, message: error.message, retryable: true };
    // Not in the log and no `id:`, so Last-Event-ID still points at the last frame delivered.
    res.end(encodeSse({ event: 'error', data: JSON.stringify(frame) }));
    finish();
  };

  const write = (chunk: string) => {
    if (blocked) {
      queued.push(chunk);
      queuedBytes += chunk.length;
      if (queuedBytes + res.writableLength > options.maxBufferedBytes) dropSlowReader();
      return;
    }
    if (!res.write(chunk)) blocked = true;
  };

  function resNoDrain() {
    blocked = false;
    if (queued.length === 0) return;
    const chunk = queued.join('');
    queued = [];
    queuedBytes = 0;
    write(chunk);
  }

  function resOnClose() {
    // Closed before `done` was written: the client went away.
    finish();
  }

  const send = (record: StreamRecord) => {
    if (ended) return;
    write(encodeFrameSse(record.frame, record.json));
    lastSeq = record.frame.seq;
    if (record.frame.type === 'done' && !ended) {
      // Whatever waits behind a slow reader still goes out: it is bounded by maxBufferedBytes.
      res.end(queued.length ? queued.join('') : undefined);
      finish();
    }
  };

  res.on('drain', resNoDrain);
  res.on('close', resOnClose);
  const heartbeat = setInterval(() => !blocked && write(HEARTBEAT), options.heartbeatMs);

  write(encodeSse({ retry: options.retryMs }));
  const backlog = stream.readFrom(options.afterSeq);
  if (!backlog) {
    const error = new TokenwireError('stream_expired', 'The frames after that event are no longer kept.');
    res.end(encodeSse({ event: 'error', data: JSON.stringify({ type: 'error', streamId: stream.id, seq: 0, code: error.code, message: error.message, retryable: false }) }));
    finish();
    return;
  }
  for (const record of backlog) send(record);
  if (!ended) unsubscribe = stream.subscribe(send);
}
