import { TokenwireError } from '../../shared/errors.js';
import type { DetachReason, Stream, StreamRecord } from './hub.js';

/**
 * Where a view of a stream from `afterSeq` starts (issue #9, the same for SSE and WebSocket):
 * - `ok`: `start(deliver)` hands over every frame after `afterSeq` exactly once, in order,
 *   then the live ones;
 * - `ended`: the stream is done and `afterSeq` is its `done` seq or later: nothing is left to
 *   send (SSE answers 204; WebSocket sends `done` again, `done` is the record);
 * - `ahead`: `afterSeq` is past the last frame of a running stream (`resume_ahead`);
 * - `expired`: frames after `afterSeq` are no longer kept; `firstSeq` is the first still held.
 */
export type ViewStart =
  | { status: 'ok'; start(deliver: (record: StreamRecord) => void): void; detach(reason?: DetachReason): void }
  | { status: 'ended'; done: StreamRecord | undefined }
  | { status: 'ahead'; lastSeq: number }
  | { status: 'expired'; firstSeq: number };

/**
 * Opens a view: attaches a viewer at once (so the abort policy counts it from the call on),
 * follows the stream first, then reads the store, then drops live frames the read already
 * had, by seq: an asynchronous store leaves no gap and no duplicate. Anything but `ok`
 * detaches again.
 */
export async function openView(stream: Stream, afterSeq: number): Promise<ViewStart> {
  const follower = follow(stream, afterSeq);
  const fail = <T>(result: T): T => {
    follower.detach();
    return result;
  };
  /** A read that throws (`store_unavailable`) leaves no viewer or follower behind. */
  const readOrLeave = async (after: number) => {
    try {
      return await stream.read(after);
    } catch (error) {
      fail(undefined);
      throw error;
    }
  };
  const read = await readOrLeave(afterSeq);
  const early = follower.early;

  if (read.status === 'unknown') return fail({ status: 'expired', firstSeq: stream.lastSeq + 1 });
  if (read.status === 'expired') return fail({ status: 'expired', firstSeq: read.firstSeq });
  // A stream another instance runs knows its end only from the log (issue 10).
  const newest = Math.max(read.lastSeq, early.at(-1)?.frame.seq ?? -1, stream.lastSeq);
  const done = stream.done || read.ended || early.some((r) => r.frame.type === 'done');
  if (done && afterSeq >= newest) {
    const tail = await readOrLeave(newest - 1);
    const done = tail.status === 'ok' ? tail.records.find((r) => r.frame.type === 'done') : undefined;
    return fail({ status: 'ended', done });
  }
  if (afterSeq > newest) return fail({ status: 'ahead', lastSeq: newest });

  return follower.view(read.records);
}

/**
 * The live half of a view, apart from openView's scope (issue 14): a view that runs for minutes
 * keeps only this (the viewer's detach, its store listener, the last seq it delivered), not the
 * first read's records or openView's helpers.
 */
function follow(stream: Stream, afterSeq: number) {
  const detachViewer = stream.attachViewer();
  let last = afterSeq;
  let early: StreamRecord[] | undefined = [];
  let deliver: ((record: StreamRecord) => void) | undefined;
  const onRecord = (record: StreamRecord) => {
    if (!deliver) {
      early?.push(record);
      return;
    }
    if (record.frame.seq <= last) return;
    last = record.frame.seq;
    deliver(record);
  };
  const unsubscribe = stream.subscribe(onRecord);
  let detached = false;
  return {
    /** Live frames that came before `start`, oldest first. */
    get early(): readonly StreamRecord[] {
      return early ?? [];
    },
    detach,
    /** The `ok` start: it delivers `records` (the first read), the early frames, then every live one, each once. */
    view(records: StreamRecord[] | undefined): Extract<ViewStart, { status: 'ok' }> {
      return {
        status: 'ok',
        start(next) {
          deliver = next;
          const first = records ?? [];
          const waiting = early ?? [];
          records = early = undefined;
          for (const record of first) onRecord(record);
          for (const record of waiting) onRecord(record);
        },
        detach,
      };
    },
  };
  function detach(reason?: DetachReason): void {
    if (detached) return;
    detached = true;
    unsubscribe();
    detachViewer(reason);
  }
}

/** The typed error a view that cannot start answers with; undefined for `ok` and `ended`. */
export function viewStartError(start: ViewStart): TokenwireError | undefined {
  if (start.status === 'ahead') {
    return new TokenwireError('resume_ahead', `The resume point is past the last frame of the stream (seq ${start.lastSeq}).`);
  }
  if (start.status === 'expired') {
    return new TokenwireError('stream_expired', `The frames after that seq are no longer kept; the first one kept is seq ${start.firstSeq}.`);
  }
  return undefined;
}
