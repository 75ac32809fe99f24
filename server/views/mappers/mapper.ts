import type { TokenwireError } from '../../../shared/errors.js';
import type { ServerFrame } from '../../../shared/protocol.js';
import type { StoreRead, StreamRecord } from '../../streams/hub.js';

/** What an interop view needs from a stream: the log, live frames and the viewer count. */
export interface FrameSource {
  readonly id: string;
  /** Frames with `seq > afterSeq`, or why they cannot be had (the hub's `Stream.read`). */
  read(afterSeq: number): Promise<StoreRead>;
  subscribe(listener: (record: StreamRecord) => void): () => void;
  attachViewer(): () => void;
}

/** Where a mapper stands after the frames it has seen. */
export type MapperState = 'running' | 'awaiting_approval' | 'ended';

/**
 * Turns tokenwire frames into another protocol's events, one frame at a time. Frames may be
 * fed silently to rebuild state (for a resume), so `map` is a pure function of the frames
 * seen so far; `open` then starts a response from that state.
 */
export interface ProtocolMapper<E> {
  /** The events that open a response here: the protocol's start, then whatever is still open. */
  open(): E[];
  /** The events for one frame. */
  map(frame: ServerFrame): E[];
  readonly state: MapperState;
  /** The call the stream waits on while `state` is `awaiting_approval`. */
  readonly awaitingCallId: string | undefined;
  /** Ends this response at the pending approval (the protocol's way to hand the decision back). */
  pause(): E[];
  /** A view-only failure (`slow_consumer`, `stream_expired`): not from the log, so no id. */
  fail(error: TokenwireError): E[];
}

/** A frame of a type this build may not know yet (`reasoning`, added after the first protocol version), read loosely. */
export function reasoningText(frame: { type: string }): string | undefined {
  const text = (frame as { text?: unknown }).text;
  return frame.type === 'reasoning' && typeof text === 'string' ? text : undefined;
}
