import type { ServerResponse } from 'node:http';
import { TokenwireError } from '../../shared/errors.js';
import { encodeSseComment } from '../../shared/sse.js';
import type { StreamRecord } from '../streams/hub.js';
import { sseResponseHeaders } from '../transports/sse-view.js';
import type { FrameSource, ProtocolMapper } from './mapper.js';
import { sharedTicker } from '../transports/shared-ticker.js';

export interface MappedSseOptions<E> {
  mapper: ProtocolMapper<E>;
  /** One event as SSE bytes; `id` is the frame's seq on the last event a frame produced. */
  encode: (event: E, id: number | undefined) => string;
  /** This response covers frames after this seq. */
  fromSeq: number;
  /** Frames up to this seq only rebuild the mapper's state (a Last-Event-ID, or a decided call). */
  silentThrough?: number | undefined;
  /** Keep going past an approval the log shows already decided (a replay), instead of pausing. */
  continueThroughDecided: boolean;
  /** The call this request just decided: its approval does not pause the response again. */
  decidedCallId?: string | undefined;
  headers: Record<string, string>;
  heartbeatMs: number;
  /** Bytes this view may queue behind a slow reader before it ends with `slow_consumer`. */
  maxBufferedBytes: number;
  /** Written after the last event (the AI SDK's `data: [DONE]`). */
  trailer?: string;
  /** The response ended at a pending approval; called before this view detaches. */
  onPause?: (callId: string) => void;
}

const HEARTBEAT = encodeSseComment('hb');

/**
 * Views a stream as another protocol's SSE: headers at once, the log replayed through the
 * mapper, then live frames; heartbeats, a bounded queue behind a slow reader, and the end of
 * the response when the mapper ends or pauses at an approval. Closing detaches the viewer.
 */
export async function serveMappedSse<E>(res: ServerResponse, source: FrameSource, options: MappedSseOptions<E>): Promise<void> {
  const { mapper } = options;
  res.writeHead(200, { ...sseResponseHeaders(source.id), connection: 'keep-alive', ...options.headers });
  res.flushHeaders();

  const detach = source.attachViewer();
  let ended = false;
  let blocked = false;
  let queued = '';
  let following = false;
  const early: StreamRecord[] = [];
  const silentThrough = Math.max(options.fromSeq, options.silentThrough ?? options.fromSeq);
  let lastSeq = options.fromSeq;

  const finish = () => {
    if (ended) return;
    ended = true;
    stopHeartbeat();
    unsubscribe();
    res.off('drain', resOnDrain);
    res.off('close', resOnClose);
    detach();
  };
  const end = (events: E[]) => {
    if (ended) return;
    const tail = encodeAll(events, undefined) + (options.trailer ?? '');
    res.end(queued + tail);
    queued = '';
    finish();
  };
  const write = (chunk: string) => {
    if (ended || !chunk) return;
    if (blocked) {
      queued += chunk;
      if (queued.length + res.writableLength > options.maxBufferedBytes) {
        queued = '';
        end(mapper.fail(new TokenwireError('slow_consumer')));
      }
      return;
    }
    if (!res.write(chunk)) blocked = true;
  };
  const encodeAll = (events: E[], seq: number | undefined) =>
    events.map((event, i) => options.encode(event, i === events.length - 1 ? seq : undefined)).join('');

  function resOnDrain() {
    blocked = false;
    const chunk = queued;
    queued = '';
    write(chunk);
  }
  function resOnClose() {
    finish();
  }

  /** One frame past the silent part; `more` says the log already holds later frames. */
  const deliver = (record: StreamRecord, more: boolean) => {
    const { frame } = record;
    if (ended || frame.seq <= lastSeq) return;
    lastSeq = frame.seq;
    if (frame.seq <= silentThrough) {
      mapper.map(frame);
      return;
    }
    write(encodeAll(mapper.map(frame), frame.seq));
    settle(more);
  };
  /** Ends the response when the mapper ended, or pauses it at an approval nobody decided yet. */
  const settle = (more: boolean) => {
    if (mapper.state === 'ended') return end([]);
    const callId = mapper.awaitingCallId;
    if (mapper.state !== 'awaiting_approval' || !callId || callId === options.decidedCallId) return;
    if (more && options.continueThroughDecided) return;
    const pause = mapper.pause();
    options.onPause?.(callId);
    end(pause);
  };

  res.on('drain', resOnDrain);
  res.on('close', resOnClose);
  const stopHeartbeat = sharedTicker(options.heartbeatMs).add(() => !blocked && write(HEARTBEAT));
  // Subscribe before reading, then drop what the read already had: no gap, no duplicate,
  // whether the store answers at once or later.
  const unsubscribe = source.subscribe((record) => (following ? deliver(record, false) : early.push(record)));

  const read = await source.read(options.fromSeq);
  if (ended) return;
  if (read.status !== 'ok') return end(mapper.fail(new TokenwireError('stream_expired', 'The frames after that event are no longer kept.')));
  const backlog = read.records;
  const replay = [...backlog, ...early.filter((r) => r.frame.seq > (backlog.at(-1)?.frame.seq ?? options.fromSeq))];
  let opened = false;
  res.cork();
  for (const [i, record] of replay.entries()) {
    if (!opened && record.frame.seq > silentThrough) {
      opened = true;
      write(encodeAll(mapper.open(), undefined));
    }
    deliver(record, i < replay.length - 1);
  }
  if (!opened) {
    write(encodeAll(mapper.open(), undefined));
    settle(false);
  }
  process.nextTick(() => res.uncork());
  following = true;
}
