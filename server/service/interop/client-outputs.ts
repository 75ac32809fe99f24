import { TokenwireError } from '../../../shared/errors.js';
import { canControl } from '../../access/stream-access.js';
import { accessThrough, type ConversationEntry } from '../../fleet/conversations.js';
import { checkToolOutput } from '../tool-outputs.js';
import { findStream } from '../stream-requests.js';
import type { StreamControl } from '../stream-control.js';
import type { Decided } from './approvals.js';

/** A client tool's answer that came back through an interop protocol. */
export interface ReturnedOutput {
  callId: string;
  body: { output: unknown } | { error: { code: string; message: string } };
}

/**
 * Hands client tools' outputs that came back through an interop protocol (the AI SDK's
 * `addToolOutput`, an AG-UI `tool` message) to their calls, as `POST /api/tool-outputs` does:
 * checked, once, under the conversation's access. Only outputs for calls the conversation's
 * stream shows as client calls still waiting (a `tool_run` frame, no `tool_result`) count;
 * none: undefined, so the request is read as something else. The stream stays watched until `release`. Throws the output gate's
 * errors (`already_decided` for a replay, `tool_timeout`), `payload_too_large`, `forbidden`.
 */
export async function answerCalls(
  control: Pick<StreamControl, 'deliverOutput' | 'findStream'>,
  returned: readonly ReturnedOutput[],
  conversation: ConversationEntry | undefined,
  subject: string | undefined,
  /** Whether the request carries nothing else to act on (no approvals): then a repeat is refused, not read as a new chat. */
  alone: boolean,
): Promise<(Decided & { callId: string; runSeq: number }) | undefined> {
  if (returned.length === 0 || !conversation) return undefined;
  const found = await findStream(control, conversation.streamId, accessThrough(conversation, subject));
  if (found instanceof TokenwireError) {
    if (found.code === 'unknown_stream') return undefined;
    throw found;
  }
  const log = await found.read(-1);
  if (log.status !== 'ok') return undefined;
  const runs = new Map<string, number>();
  const calls = new Map<string, number>();
  const closed = new Set<string>();
  for (const { frame } of log.records) {
    if (frame.type === 'tool_call') calls.set(frame.callId, frame.seq);
    if (frame.type === 'tool_run') runs.set(frame.callId, frame.seq);
    if (frame.type === 'tool_result') closed.add(frame.callId);
  }
  // A message carries every earlier round's outputs too: only calls still waiting are answered.
  const answers = returned.filter((r) => runs.has(r.callId) && !closed.has(r.callId));
  if (answers.length === 0) {
    // Nothing else in the request: it repeats an answer already taken.
    if (alone && returned.some((r) => runs.has(r.callId))) throw new TokenwireError('already_decided', 'This tool call already has its output.');
    return undefined;
  }
  const release = found.attachViewer();
  try {
    for (const { callId, body } of answers) {
      const answer = checkToolOutput(body);
      if (answer instanceof TokenwireError) throw answer;
      await control.deliverOutput(callId, {
        answer,
        authorize: (target) => target.id === found.id && canControl(target, { subject, token: conversation.streamToken }),
        by: { subject, transport: 'http' },
      });
    }
    const { callId } = answers.at(-1)!;
    return { stream: found, callId, callSeq: calls.get(callId) ?? -1, runSeq: runs.get(callId) as number, release: () => release() };
  } catch (error) {
    release();
    throw error;
  }
}
