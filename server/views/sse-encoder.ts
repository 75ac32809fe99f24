import { TokenwireError } from '../../shared/errors.js';
import { encodeFrameSse } from '../../shared/frame-codec.js';
import { encodeSse } from '../../shared/sse.js';
import type { StreamRecord } from '../streams/hub.js';

/**
 * What an SSE view writes for a stream's frames: tokenwire's own frames (`tokenwireFrames`), or
 * another protocol's events made from them (server/views/mapped-encoder.ts). The view hands it
 * every frame once, in seq order, and asks for the text when the reader can take it.
 */
export interface SseEncoder {
  /** The bytes that open the response, before any frame ('' for none). */
  open(): string;
  /**
   * Takes the next frame as it arrives, whether the reader keeps up or not; true when the
   * response ends after it. `catchingUp`: the frame is part of the replay a view starts with.
   */
  accept(record: StreamRecord, catchingUp: boolean): boolean;
  /** The SSE text of the frame just accepted, written at once (the reader keeps up). */
  frame(record: StreamRecord): string;
  /** The SSE text of the frames accepted while the reader was behind (oldest first, maybe none), and of `caughtUp`'s end. */
  backlog(records: readonly StreamRecord[]): string;
  /** The replay has been handed over; true when the response ends there. */
  caughtUp(): boolean;
  /** The last bytes of a response that ends where `accept` or `caughtUp` said. */
  close(): string;
  /** The last bytes of a view dropped for reading too slowly; `writtenSeq` is the last frame written. */
  dropped(streamId: string, writtenSeq: number): string;
}

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
 * The SSE bytes of frames that waited behind a slow reader, with each run of consecutive
 * tokens merged into one token frame that carries the run's last seq.
 */
export function coalesceTokens(records: readonly StreamRecord[]): string {
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
 * tokenwire's own frames: each frame as an SSE event named for its type with its seq as `id:`,
 * tokens merged behind a slow reader, the end after `done`, and a view-only `slow_consumer`
 * error frame on a drop. Stateless, so every view shares this one.
 */
export const tokenwireFrames: SseEncoder = {
  open: () => '',
  accept: (record) => record.frame.type === 'done',
  frame: (record) => encodeFrameSse(record.frame, record.json),
  backlog: coalesceTokens,
  caughtUp: () => false,
  close: () => '',
  dropped: (streamId, writtenSeq) => encodeViewError(streamId, writtenSeq, new TokenwireError('slow_consumer')),
};
