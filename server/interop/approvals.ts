import { TokenwireError } from '../../shared/errors.js';
import type { Core } from '../core.js';
import type { Stream } from '../streams/hub.js';
import type { FrameSource } from './mapper.js';

/**
 * Keeps a stream watched while its approval waits for the protocol's next request: both
 * protocols end the response at an approval, and an unwatched stream would be aborted.
 * Released by the call's result (decided or expired by the gate) or the end of the stream.
 */
export function holdForDecision(source: FrameSource, callId: string): void {
  const detach = source.attachViewer();
  const unsubscribe = source.subscribe(({ frame }) => {
    if (frame.type === 'done' || (frame.type === 'tool_result' && frame.callId === callId)) {
      unsubscribe();
      detach();
    }
  });
}

/**
 * Decides a tool call that came back through an interop protocol, through tokenwire's gate
 * (bound to the call, once only, before its expiry). `owns` says whether the asking
 * conversation owns the call's stream. Returns the stream and the seq of the call's frame, from
 * where the response continues. Throws the gate's errors, or `stream_expired`.
 */
export async function decideCall(
  core: Pick<Core, 'decide' | 'hub'>,
  decision: { callId: string; approved: boolean; reason?: string | undefined },
  owns: (streamId: string) => boolean,
  subject?: string | undefined,
): Promise<{ stream: Stream; callSeq: number }> {
  const { streamId } = await core.decide(decision.callId, {
    decision: decision.approved ? 'approve' : 'deny',
    // The conversation id is the capability; a stream bound to a subject also needs that subject.
    authorize: (stream) => owns(stream.id) && (stream.subject === undefined || stream.subject === subject),
    reason: decision.reason,
    by: { subject, transport: 'http' },
  });
  const stream = core.hub.get(streamId);
  const log = await stream?.read(-1);
  const call = log?.status === 'ok' ? log.records.find(({ frame }) => frame.type === 'tool_call' && frame.callId === decision.callId) : undefined;
  if (!stream || !call) throw new TokenwireError('stream_expired', 'The stream of that tool call is no longer kept.');
  return { stream, callSeq: call.frame.seq };
}
