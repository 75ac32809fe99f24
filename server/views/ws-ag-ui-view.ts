import { EventType, type Event as AgUiEvent } from '@ag-ui/core';
import { TokenwireError } from '../../shared/errors.js';
import type { AgUiEventMessage, ServerFrame } from '../../shared/protocol.js';
import { createAgUiRuns } from './mappers/ag-ui-runs.js';
import type { StreamLog } from '../streams/hub.js';
import type { WsSender } from './ws-sender.js';
import type { WsPresenter } from './ws-views.js';

/** Where an AG-UI view starts (`from`, for ws-views) and what writes its events. */
export interface AgUiView {
  from: number;
  presenter: WsPresenter;
}

const messageJson = (message: AgUiEventMessage): string => JSON.stringify(message);

/**
 * Prepares a WebSocket view of a stream as AG-UI events (`format: "ag-ui"`, protocol minor 2):
 * rebuilds the runs from the log up to the resume point, so a resume re-opens the message it
 * was in; a resume after `done` says the run's end again. Each event goes out as
 * `{ streamId, seq, event }`, where `seq` is the last frame whose events are all sent (the
 * frame's own seq on its last event), so resuming from it loses nothing. Returns
 * `stream_expired` when the log no longer holds the stream's first frames.
 */
export async function prepareAgUiView(
  stream: StreamLog,
  afterSeq: number,
  ids: { threadId?: string | undefined; runId?: string | undefined },
  sender: WsSender,
): Promise<AgUiView | TokenwireError> {
  const runs = createAgUiRuns({ threadId: ids.threadId ?? stream.id, runId: ids.runId ?? stream.id });
  // After `done`, view its last frame again, already skipped: the run's start and end are said
  // again (AG-UI has no other way to say a run ended), instead of tokenwire's `done`.
  const from = stream.done ? Math.min(afterSeq, stream.lastSeq - 1) : afterSeq;
  if (afterSeq >= 0) {
    const log = await stream.read(-1);
    if (log.status !== 'ok') return new TokenwireError('stream_expired', 'An AG-UI view needs the stream from its start, which is no longer kept.');
    for (const { frame } of log.records) {
      if (frame.seq > afterSeq) break;
      runs.absorb(frame);
    }
  }

  let last = from;
  /** Hands events to the sender under frame `itemSeq`, so dropping a slow view discards them by stream and seq. */
  const send = (events: AgUiEvent[], itemSeq: number, seqOf: (index: number) => number) => {
    events.forEach((event, index) => {
      const json = messageJson({ streamId: stream.id, seq: seqOf(index), event });
      // Not a token, so the sender neither merges nor rewrites it; it reads only type, streamId and seq.
      sender.record({ frame: { type: 'ag-ui', streamId: stream.id, seq: itemSeq } as unknown as ServerFrame, json });
    });
  };

  return {
    from,
    presenter: {
      frame({ frame }) {
        last = frame.seq;
        const events = runs.next(frame);
        send(events, frame.seq, (index) => (index === events.length - 1 ? frame.seq : frame.seq - 1));
      },
      caughtUp() {
        if (!runs.opened) send(runs.idle(), last + 1, () => last);
      },
      dropped(written) {
        const error = new TokenwireError('slow_consumer');
        return messageJson({ streamId: stream.id, seq: written, event: { type: EventType.RUN_ERROR, message: error.message, code: error.code } });
      },
    },
  };
}
