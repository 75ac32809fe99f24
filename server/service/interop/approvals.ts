import { TokenwireError } from '../../../shared/errors.js';
import { canControl } from '../../access/stream-access.js';
import { findStream } from '../stream-requests.js';
import type { StreamControl } from '../stream-control.js';
import type { StreamLog } from '../../streams/hub.js';
import { accessThrough, type ConversationEntry } from '../../fleet/conversations.js';
import type { FrameSource } from '../../views/mappers/mapper.js';

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

/** A decided call's stream, held watched until the response that continues it is viewing it. */
export interface Decided {
  stream: StreamLog;
  /** The seq of the last decided call's `tool_call` frame: the response continues after it. */
  callSeq: number;
  /** Lets go of the stream: call it once the continuing view is attached. */
  release(): void;
}

/**
 * Decides tool calls that came back through an interop protocol, through tokenwire's gate
 * (bound to the call, once only, before its expiry). Only the conversation that owns the
 * calls' stream (`conversation`, found under the caller's subject) may decide them, by the
 * same rule as every stream access (findStream, canControl). The stream stays watched
 * from before the first decision until `release`: a decision releases holdForDecision's hold,
 * and without another viewer the stream would be aborted before the response views it.
 * Throws the gate's errors, `forbidden`, or `stream_expired`.
 */
export async function decideCalls(
  control: Pick<StreamControl, 'decide' | 'findStream'>,
  decisions: readonly { callId: string; approved: boolean; reason?: string | undefined }[],
  conversation: ConversationEntry | undefined,
  subject: string | undefined,
): Promise<Decided> {
  const found = conversation ? await findStream(control, conversation.streamId, accessThrough(conversation, subject)) : undefined;
  if (found instanceof TokenwireError && found.code !== 'unknown_stream') throw found;
  const stream = found instanceof TokenwireError ? undefined : found;
  const release = stream ? stream.attachViewer() : () => {};
  try {
    let last: { callId: string; streamId: string } | undefined;
    for (const decision of decisions) {
      const { streamId } = await control.decide(decision.callId, {
        decision: decision.approved ? 'approve' : 'deny',
        authorize: (target) => stream?.id === target.id && canControl(target, { subject, token: conversation?.streamToken }),
        reason: decision.reason,
        by: { subject, transport: 'http' },
      });
      last = { callId: decision.callId, streamId };
    }
    const log = stream && last ? await stream.read(-1) : undefined;
    const call = log?.status === 'ok' ? log.records.find(({ frame }) => frame.type === 'tool_call' && frame.callId === last?.callId) : undefined;
    if (!stream || !call) throw new TokenwireError('stream_expired', 'The stream of that tool call is no longer kept.');
    return { stream, callSeq: call.frame.seq, release: () => release() };
  } catch (error) {
    release();
    throw error;
  }
}
