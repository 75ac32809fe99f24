import { TokenwireError } from '../../shared/errors.js';
import type { StreamRecord } from '../streams/hub.js';
import type { SseEncoder } from './sse-encoder.js';
import type { ProtocolMapper } from './mappers/mapper.js';

export interface MappedEncoderOptions<E> {
  /** One event as SSE text; `id` is the frame's seq on the last event a frame produced. */
  encode: (event: E, id: number | undefined) => string;
  /** Written after the last event of every response (the AI SDK's `data: [DONE]`). */
  trailer?: string | undefined;
  /** In the replay a view starts with, go past an approval the log shows decided later, instead of pausing at it. */
  continueThroughDecided: boolean;
  /** The call this request just decided: its approval does not pause the response again. */
  decidedCallId?: string | undefined;
  /** The response ends at a pending approval; called before the view lets go of the stream. */
  onPause?: ((callId: string) => void) | undefined;
}

/**
 * The SSE view's encoder for another protocol: each frame through the protocol's mapper, the
 * frame's seq as the `id:` of the last event it produced (a resume point for Last-Event-ID),
 * the mapper's opening events first, and the end of the response where the mapper ends or
 * pauses at an approval nobody decided yet (both protocols hand a decision back in their next
 * request). The mapper is fed any frames before the resume point first (openMappedView).
 */
export function createMappedEncoder<E>(mapper: ProtocolMapper<E>, options: MappedEncoderOptions<E>): SseEncoder {
  const trailer = options.trailer ?? '';
  // The text of frames accepted and not yet taken, in order: the mapper must see every frame
  // when it arrives (it decides where the response ends), while the reader takes text later.
  let pending = '';
  const encodeAll = (events: E[], seq: number | undefined) =>
    events.map((event, i) => options.encode(event, i === events.length - 1 ? seq : undefined)).join('');
  const take = () => {
    const out = pending;
    pending = '';
    return out;
  };
  /** Whether the response ends here: the mapper ended, or paused at a pending approval. */
  const settle = (catchingUp: boolean): boolean => {
    if (mapper.state === 'ended') return true;
    const callId = mapper.awaitingCallId;
    if (mapper.state !== 'awaiting_approval' || !callId || callId === options.decidedCallId) return false;
    // A replay decides at its end (caughtUp): a later frame may show this approval decided.
    if (catchingUp && options.continueThroughDecided) return false;
    const events = mapper.pause();
    options.onPause?.(callId);
    pending += encodeAll(events, undefined);
    return true;
  };
  return {
    open: () => encodeAll(mapper.open(), undefined),
    accept(record: StreamRecord, catchingUp: boolean) {
      pending += encodeAll(mapper.map(record.frame), record.frame.seq);
      return settle(catchingUp);
    },
    frame: take,
    backlog: take,
    caughtUp: () => settle(false),
    close: () => trailer,
    dropped: () => encodeAll(mapper.fail(new TokenwireError('slow_consumer')), undefined) + trailer,
  };
}
