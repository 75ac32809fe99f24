import { TokenwireError } from '../../shared/errors.js';
import type { DetachReason, StreamLog, StreamRecord } from '../streams/hub.js';

/**
 * Where a view of a stream from `afterSeq` starts (the same for SSE and WebSocket):
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
export async function openView(stream: StreamLog, afterSeq: number): Promise<ViewStart> {
  const follower = new Follower(stream, afterSeq);
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
  // A stream another instance runs knows its end only from the log.
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
 * The live half of a view, apart from openView's scope: a view that runs for minutes
 * keeps only this (the viewer's detach, its store listener, the last seq it delivered), not the
 * first read's records or openView's helpers. A class: as closures it was four functions and
 * two scopes per view; here it is one object, its `ok` start, and one bound listener.
 */
class Follower {
  readonly status = 'ok';
  /** Live frames that came before `start`, oldest first; undefined once started. */
  private waiting: StreamRecord[] | undefined = [];
  /** The first read's records, kept from `view` until `start`. */
  private records: StreamRecord[] | undefined = undefined;
  private deliver: ((record: StreamRecord) => void) | undefined = undefined;
  private detached = false;
  private readonly detachViewer: (reason?: DetachReason) => void;
  private readonly unsubscribe: () => void;

  constructor(
    stream: StreamLog,
    /** The last seq handed over (or the view's resume point). */
    private last: number,
  ) {
    this.detachViewer = stream.attachViewer();
    this.unsubscribe = stream.subscribe(this.onRecord.bind(this));
  }

  /** Live frames that came before `start`, oldest first. */
  get early(): readonly StreamRecord[] {
    return this.waiting ?? [];
  }

  /** The `ok` start: it delivers `records` (the first read), the early frames, then every live one, each once. */
  view(records: StreamRecord[]): Extract<ViewStart, { status: 'ok' }> {
    this.records = records;
    return this;
  }

  start(next: (record: StreamRecord) => void): void {
    this.deliver = next;
    const first = this.records ?? [];
    const waiting = this.waiting ?? [];
    this.records = this.waiting = undefined;
    for (const record of first) this.onRecord(record);
    for (const record of waiting) this.onRecord(record);
  }

  detach(reason?: DetachReason): void {
    if (this.detached) return;
    this.detached = true;
    this.unsubscribe();
    this.detachViewer(reason);
  }

  private onRecord(record: StreamRecord): void {
    if (!this.deliver) {
      this.waiting?.push(record);
      return;
    }
    if (record.frame.seq <= this.last) return;
    this.last = record.frame.seq;
    this.deliver(record);
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
