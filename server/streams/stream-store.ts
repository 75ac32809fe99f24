import type { ServerFrame } from '../../shared/protocol.js';

/** A frame as kept in a stream's log: the object and its JSON, stringified once for all views. */
export interface StreamRecord {
  readonly frame: ServerFrame;
  readonly json: string;
}

/**
 * What a read of a log finds: the records after the asked seq, with the seq of the log's last
 * record (-1: none) and whether that record is the `done`; `expired` when some of them are no
 * longer kept (`firstSeq` is the first one still held); `unknown` when no log has that id.
 */
export type StoreRead =
  | { status: 'ok'; records: StreamRecord[]; lastSeq: number; ended: boolean }
  | { status: 'expired'; firstSeq: number }
  | { status: 'unknown' };

/** Called with each record appended to a followed log, in seq order. */
export type StoreListener = (record: StreamRecord) => void;

/**
 * Where streams' logs live: the memory store (default) or the Redis store (REDIS_URL). Reads may be
 * asynchronous, so a view follows first, then reads, then drops what it already has by seq
 * (server/views/stream-view.ts): no frame falls between the read and the live feed.
 */
export interface StreamStore {
  /** Starts an empty log for a new stream. */
  open(streamId: string): void;
  /**
   * Appends a record; followers hear of it (in this process: before `append` returns).
   * `tokenText` says the record is a token frame built by `tokenRecord` with that text: a store
   * may keep only the text and rebuild the same record (the same JSON bytes) on read.
   */
  append(streamId: string, record: StreamRecord, tokenText?: string): void;
  /** Records with `seq > afterSeq`, or why they cannot be had. */
  read(streamId: string, afterSeq: number): Promise<StoreRead>;
  /** Calls `listener` for every record appended from now on; returns the unfollow function. */
  follow(streamId: string, listener: StoreListener): () => void;
  /** The stream has its `done`: its log may now be evicted, oldest finished first. */
  finish(streamId: string): void;
  /** Forgets a stream's log (its time to live is over). */
  expire(streamId: string): void;
  /** Approximate heap bytes the kept records use. */
  readonly retainedBytes: number;
}

/** The start of a stream's token JSON up to its seq, made once per stream: `{"type":"token","streamId":"…","seq":`. */
export const tokenJsonPrefix = (streamId: string): string => `{"type":"token","streamId":${JSON.stringify(streamId)},"seq":`;

/**
 * A `token` frame's record with its JSON built from the stream's `tokenJsonPrefix`: the same
 * bytes as `JSON.stringify` of the frame (key order type, streamId, seq, text), without walking
 * an object per token. The hub appends these; the memory store rebuilds them on read.
 */
export const tokenRecord = (streamId: string, prefix: string, seq: number, text: string): StreamRecord => ({
  frame: { type: 'token', streamId, seq, text },
  json: `${prefix}${seq},"text":${JSON.stringify(text)}}`,
});
