import { TokenwireError } from '../../shared/errors.js';
import type { Stream, StreamRecord } from '../streams/hub.js';
import { errorFrameJson } from './ws-frames.js';
import type { WsSender } from './ws-sender.js';

/** The streams one socket is viewing: each a catch-up from the log, then live frames, until `done`. */
export interface WsViews {
  /** Views a stream from after `afterSeq` (replacing this socket's view of it); false when those frames are no longer kept. */
  view(stream: Stream, afterSeq: number): boolean;
  has(streamId: string): boolean;
  /** The last seq handed to the sender for a stream, if it is viewed. */
  lastSeq(streamId: string): number | undefined;
  /**
   * Drops every view, discarding what is queued for it, each with a retryable `slow_consumer`
   * error that names the last seq actually written, so a resume from there loses nothing.
   */
  dropSlow(): string[];
  /** Detaches every view (the socket closed): the hub's policy decides about the generations. */
  endAll(): void;
  readonly size: number;
}

interface View {
  stream: Stream;
  lastSeq: number;
  ended: boolean;
  detach: () => void;
  unsubscribe: () => void;
}

/**
 * Views for one socket. `showsToken` says whether this socket may see a stream's approval
 * token: only the socket that started it does, so a view by stream id alone (resume) gets the
 * `start` frame without it.
 */
export function createWsViews(sender: WsSender, showsToken: (streamId: string) => boolean): WsViews {
  const views = new Map<string, View>();

  function end(view: View): void {
    if (view.ended) return;
    view.ended = true;
    if (views.get(view.stream.id) === view) views.delete(view.stream.id);
    view.unsubscribe();
    // The last viewer leaving lets the hub abort the generation (after its resume grace).
    view.detach();
  }

  function deliver(view: View, record: StreamRecord): void {
    if (view.ended) return;
    view.lastSeq = record.frame.seq;
    const { frame } = record;
    if (frame.type === 'start' && frame.streamToken !== undefined && !showsToken(frame.streamId)) {
      const { approvalToken: _old, streamToken: _token, ...shown } = frame;
      sender.record({ frame: shown, json: JSON.stringify(shown) });
    } else {
      sender.record(record);
    }
    if (frame.type === 'done') end(view);
  }

  return {
    view(stream, afterSeq) {
      const previous = views.get(stream.id);
      // Attach the new view before the old one leaves, so the stream never has zero viewers.
      const detach = stream.attachViewer();
      if (previous) end(previous);
      const backlog = stream.readFrom(afterSeq);
      if (!backlog) {
        detach();
        return false;
      }
      const current: View = { stream, lastSeq: afterSeq, ended: false, detach, unsubscribe: () => {} };
      views.set(stream.id, current);
      for (const record of backlog) {
        deliver(current, record);
        if (current.ended) return true;
      }
      current.unsubscribe = stream.subscribe((record) => deliver(current, record));
      return true;
    },
    has: (streamId) => views.has(streamId),
    lastSeq: (streamId) => views.get(streamId)?.lastSeq,
    dropSlow() {
      const dropped = [...views.values()];
      for (const view of dropped) {
        const firstDropped = sender.discard(view.stream.id);
        const written = firstDropped !== undefined ? firstDropped - 1 : view.lastSeq;
        end(view);
        sender.urgent(errorFrameJson(new TokenwireError('slow_consumer'), view.stream.id, written));
      }
      return dropped.map((view) => view.stream.id);
    },
    endAll() {
      for (const view of [...views.values()]) end(view);
    },
    get size() {
      return views.size;
    },
  };
}
