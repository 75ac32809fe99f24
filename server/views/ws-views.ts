import { TokenwireError } from '../../shared/errors.js';
import type { DetachReason, StreamLog, StreamRecord } from '../streams/hub.js';
import { openView, type ViewStart } from './stream-view.js';
import { errorFrameJson } from './ws-frames.js';
import type { WsSender } from './ws-sender.js';

/** The streams one socket is viewing: each a catch-up from the log, then live frames, until `done`. */
export interface WsViews {
  /**
   * Views a stream from after `afterSeq`, replacing this socket's view of it. Resolves with
   * how the view started; anything but `ok` leaves no view (the session answers it).
   */
  view(stream: StreamLog, afterSeq: number, presenter?: WsPresenter): Promise<NoView | { status: 'ok' }>;
  has(streamId: string): boolean;
  /** The last seq handed to the sender for a stream, if it is viewed. */
  lastSeq(streamId: string): number | undefined;
  /**
   * Drops every view, discarding what is queued for it, each with a retryable `slow_consumer`
   * error that names the last seq actually written, so a resume from there loses nothing.
   * The streams keep generating for their window.
   */
  dropSlow(): string[];
  /** Detaches every view (the socket closed): the hub's policy decides about the generations. */
  endAll(): void;
  readonly size: number;
}

/**
 * Writes a view's frames as another protocol's events (AG-UI: ws-ag-ui-view.ts) instead of
 * tokenwire's frames; the stream's `start` frame still goes out as it is, to name the stream.
 */
export interface WsPresenter {
  /** One frame after the view's resume point. */
  frame(record: StreamRecord): void;
  /** The log is replayed; what the view says if no frame came (the protocol's opening). */
  caughtUp(): void;
  /** The message that ends the view for a slow reader whose last complete frame is `written`. */
  dropped(written: number): string;
}

/** How a view that could not start ended: the session answers each. */
export type NoView = Exclude<ViewStart, { status: 'ok' }>;

interface View {
  stream: StreamLog;
  lastSeq: number;
  ended: boolean;
  detach: (reason?: DetachReason) => void;
  presenter: WsPresenter | undefined;
}

/**
 * Views for one socket. `showsToken` says whether this socket may see a stream's approval
 * token: only the socket that started it does, so a view by stream id alone (resume) gets the
 * `start` frame without it.
 */
export function createWsViews(sender: WsSender, showsToken: (streamId: string) => boolean): WsViews {
  const views = new Map<string, View>();

  function end(view: View, reason?: DetachReason): void {
    if (view.ended) return;
    view.ended = true;
    if (views.get(view.stream.id) === view) views.delete(view.stream.id);
    // The last viewer leaving lets the hub abort the generation (after its resume window).
    view.detach(reason);
  }

  function deliver(view: View, record: StreamRecord): void {
    if (view.ended) return;
    view.lastSeq = record.frame.seq;
    const { frame } = record;
    if (frame.type === 'start' && frame.streamToken !== undefined && !showsToken(frame.streamId)) {
      const { approvalToken: _old, streamToken: _token, ...shown } = frame;
      sender.record({ frame: shown, json: JSON.stringify(shown) });
    } else if (!view.presenter || frame.type === 'start') {
      sender.record(record);
    }
    view.presenter?.frame(record);
    if (frame.type === 'done') end(view);
  }

  return {
    async view(stream, afterSeq, presenter) {
      const previous = views.get(stream.id);
      const current: View = { stream, lastSeq: afterSeq, ended: false, detach: () => {}, presenter };
      views.set(stream.id, current);
      // openView attaches the new viewer before the old one leaves: the stream never has zero viewers.
      const opening = openView(stream, afterSeq);
      if (previous) end(previous);
      const start = await opening;
      if (start.status !== 'ok') {
        end(current);
        return start;
      }
      current.detach = (reason) => start.detach(reason);
      // Replaced or the socket closed while the log was read.
      if (current.ended) start.detach();
      else {
        start.start((record) => deliver(current, record));
        if (!current.ended) presenter?.caughtUp();
      }
      return { status: 'ok' };
    },
    has: (streamId) => views.has(streamId),
    lastSeq: (streamId) => views.get(streamId)?.lastSeq,
    dropSlow() {
      const dropped = [...views.values()];
      for (const view of dropped) {
        const firstDropped = sender.discard(view.stream.id);
        const written = firstDropped !== undefined ? firstDropped - 1 : view.lastSeq;
        end(view, 'dropped');
        sender.urgent(view.presenter?.dropped(written) ?? errorFrameJson(new TokenwireError('slow_consumer'), view.stream.id, written));
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
