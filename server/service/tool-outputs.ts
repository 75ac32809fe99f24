import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import { LIMITS, ToolOutputRequest } from '../../shared/protocol.js';
import { canControl, type StreamAccess } from '../access/stream-access.js';
import { canonicalSha256Of } from '../engine/approval-record.js';
import type { DecidedBy } from '../engine/approvals.js';
import type { ClientOutput } from '../engine/client-outputs.js';
import type { Logger } from '../observability/log.js';
import type { StreamControl } from './stream-control.js';

/**
 * A client tool's answer, checked at the boundary: at most `LIMITS.toolOutputBytes` of UTF-8
 * JSON (`payload_too_large`), and writable as RFC 8785 canonical JSON (no lone surrogates:
 * `invalid_request`), so the audit can name it by its digest.
 */
export function checkToolOutput(body: { output?: unknown; error?: { code: string; message: string } | undefined }): ClientOutput | TokenwireError {
  const answer: ClientOutput = body.error ? { ok: false, error: body.error } : { ok: true, output: body.output };
  const json = JSON.stringify(answer.ok ? answer.output : answer.error) ?? 'null';
  if (Buffer.byteLength(json) > LIMITS.toolOutputBytes) {
    return new TokenwireError('payload_too_large', `A tool output may be at most ${LIMITS.toolOutputBytes} bytes of JSON.`);
  }
  if (canonicalSha256Of(answer.ok ? answer.output : answer.error) instanceof Error) {
    return new TokenwireError('invalid_request', 'The tool output cannot be written as canonical JSON (a string holds a lone surrogate?).');
  }
  return answer;
}

/**
 * Hands a client tool's output to its call for `POST /api/tool-outputs/:callId`: the caller's
 * subject, or the body's `token` (else the request's stream token), must give access to the
 * call's stream (`canControl`). Answers `{ callId, streamId }`, or a typed error: `invalid_request`,
 * `payload_too_large`, `unknown_call`, `forbidden`, `already_decided`, `tool_timeout`.
 */
export async function answerToolCall(
  deps: { control: Pick<StreamControl, 'deliverOutput'>; log: Logger },
  callId: string,
  raw: unknown,
  access: StreamAccess,
  by: DecidedBy,
): Promise<{ callId: string; streamId: string } | TokenwireError> {
  const body = parseWith(ToolOutputRequest, raw);
  if (!body.ok) return new TokenwireError('invalid_request', `The body is not a valid tool output: ${body.message}.`);
  const answer = checkToolOutput(body.value);
  if (answer instanceof TokenwireError) return answer;
  const token = body.value.token ?? access.token;
  try {
    const { streamId } = await deps.control.deliverOutput(callId, { answer, authorize: (stream) => canControl(stream, { subject: access.subject, token }), by });
    return { callId, streamId };
  } catch (error) {
    const known = toTokenwireError(error);
    if (known.code === 'internal') deps.log.error({ err: error, callId }, 'tool output failed');
    return known;
  }
}
