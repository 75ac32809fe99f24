import type { Event as AgUiEvent } from '@ag-ui/core';
import type { ServerFrame, ServerFrameOf } from '../../../shared/protocol.js';
import { createAgUiMapper } from './ag-ui.js';
import type { ProtocolMapper } from './mapper.js';

/** The run ids of the AG-UI run that follows a decided approval: `<runId>:<callId>`. */
export const continuationRunId = (runId: string, callId: string): string => `${runId}:${callId}`;

/** One stream as a sequence of AG-UI runs, for a view that stays open across approvals. */
export interface AgUiRuns {
  /** Rebuilds state from a frame the client already has (at or before its resume point). */
  absorb(frame: ServerFrame): void;
  /** The events for a frame the client has not seen; the first opens the view's run. */
  next(frame: ServerFrame): AgUiEvent[];
  /** What a view says when nothing new came yet: the run opened (and ended again at a pending approval). */
  idle(): AgUiEvent[];
  /** Whether the view has said anything yet. */
  readonly opened: boolean;
}

/**
 * A stream mapped by createAgUiMapper over a connection that stays open (the WebSocket):
 * an approval ends the run with its interrupt (`RUN_FINISHED`, as over HTTP), and the first
 * frame after it (the decision's `tool_result`, or the end) starts the next run,
 * `continuationRunId(runId, callId)`, on the same view. The ids are a function of the frames,
 * so a resume rebuilds the same runs from the log.
 */
export function createAgUiRuns(run: { threadId: string; runId: string }): AgUiRuns {
  let mapper: ProtocolMapper<AgUiEvent> = createAgUiMapper(run);
  let start: ServerFrameOf<'start'> | undefined;
  /** The call whose interrupt ended the current run, and that interrupt's events. */
  let interrupted: { callId: string; events: AgUiEvent[] } | undefined;
  /** The event that ended the current run (RUN_FINISHED or RUN_ERROR), to say it again on a resume. */
  let ending: AgUiEvent | undefined;
  let opened = false;

  const step = (frame: ServerFrame, live: boolean): AgUiEvent[] => {
    const out: AgUiEvent[] = [];
    if (interrupted && mapper.state === 'ended') {
      mapper = createAgUiMapper({ threadId: run.threadId, runId: continuationRunId(run.runId, interrupted.callId) });
      if (start) mapper.map(start); // the model, for `usage`
      interrupted = undefined;
      out.push(...mapper.open());
    } else if (live && !opened) {
      if (mapper.state === 'ended') return reopenEnded();
      out.push(...mapper.open());
    }
    if (live) opened = true;
    if (frame.type === 'start') start = frame;
    out.push(...mapper.map(frame));
    const callId = mapper.awaitingCallId;
    if (mapper.state === 'awaiting_approval' && callId !== undefined) {
      const events = mapper.pause();
      interrupted = { callId, events };
      out.push(...events);
    }
    if (mapper.state === 'ended') ending = out.at(-1) ?? ending;
    return out;
  };

  /** A view that starts after its run ended: the run's start and its end again, nothing between. */
  const reopenEnded = (): AgUiEvent[] => {
    opened = true;
    return ending ? [...mapper.open(), ending] : [];
  };

  return {
    absorb: (frame) => void step(frame, false),
    next: (frame) => step(frame, true),
    idle() {
      if (opened) return [];
      if (mapper.state === 'ended') return reopenEnded();
      opened = true;
      return mapper.open();
    },
    get opened() {
      return opened;
    },
  };
}
