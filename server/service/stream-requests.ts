import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import { ApprovalDecisionRequest, IdempotencyKey } from '../../shared/protocol.js';
import { canControl, type StreamAccess } from '../access/stream-access.js';
import type { DecidedBy } from '../engine/approvals.js';
import type { Logger } from '../observability/log.js';
import type { StreamLog } from '../streams/hub.js';
import type { StreamControl } from './stream-control.js';

export type { StreamAccess };

// Runtime-neutral halves of the stream routes, shared by Express (edge/express/router.ts, stream-routes.ts)
// and the web-standard handlers (edge/web/web.ts), so both speak the whole protocol alike.

/**
 * The stream `id` names, if the caller may access it (its subject, or for an anonymous stream
 * its token from the `start` frame): the stream id travels in headers and logs, the token only
 * to the client that started it. Else `unknown_stream` (404) or `forbidden` (403).
 */
export async function findStream(control: Pick<StreamControl, 'findStream'>, id: string, access: StreamAccess): Promise<StreamLog | TokenwireError> {
  const stream = await control.findStream(id);
  if (!stream) return new TokenwireError('unknown_stream', 'No such stream: it never existed or is no longer kept.');
  if (!canControl(stream, { subject: access.subject, token: access.token })) return new TokenwireError('forbidden', 'This stream is not yours: it belongs to another user, or needs its stream token from the start frame.');
  return stream;
}

/** The seq a resume starts after, from `Last-Event-ID` (or `?lastSeq=`); none: -1. */
export function parseResumePoint(raw: string | null | undefined): number | TokenwireError {
  const text = (raw ?? '-1').trim();
  if (!/^-?\d{1,15}$/.test(text) || Number(text) < -1) {
    return new TokenwireError('invalid_request', 'Last-Event-ID (or lastSeq) must be a frame seq: a whole number from -1.');
  }
  return Number(text);
}

/**
 * Where a chat start with `Idempotency-Key` may pick up, from its `Last-Event-ID` (validated as
 * on the resume route): a POST retried after frames arrived (as fetch-event-source retries)
 * carries both. Applies only when the key's earlier stream answers the start; a new stream is
 * viewed whole. Without a key the header names no stream and is not read: -1.
 */
export function startResumePoint(idempotencyKey: string | undefined, lastEventId: string | null | undefined): number | TokenwireError {
  return idempotencyKey === undefined ? -1 : parseResumePoint(lastEventId);
}

/**
 * The chat start's `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header: an
 * sf-string, so the quotes are optional here), undefined when absent, `invalid_request` when bad.
 */
export function idempotencyKeyOf(raw: string | null | undefined): string | TokenwireError | undefined {
  if (raw === null || raw === undefined) return undefined;
  const text = raw.trim();
  const key = parseWith(IdempotencyKey, text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text);
  if (!key.ok) return new TokenwireError('invalid_request', `Idempotency-Key must be 16 to 128 characters, letters, digits and ._:~- only: ${key.message}.`);
  return key.value;
}

/**
 * Cancels a stream at once (explicit cancel is always immediate) and says whether it was
 * running, once it is applied: a stream another instance runs answers when its owner confirmed,
 * else a typed error (`owner_lost`, `store_unavailable`; both retryable).
 */
export async function cancelStream(stream: StreamLog): Promise<{ ok: true; cancelled: boolean } | TokenwireError> {
  try {
    return { ok: true, cancelled: await stream.cancel() };
  } catch (error) {
    return toTokenwireError(error);
  }
}

/**
 * Decides a tool call for `POST /api/approvals/:callId`: the caller's subject, or the body's
 * `token` (else the request's stream token), must give access to the call's stream, wherever
 * it runs, unless the tool's `approval.authorize` says otherwise; `args` (approve) are validated
 * again, `code` (deny) reaches the model; the audit trail records `by`. Answers the decision, or a typed error.
 */
export async function decideApproval(
  deps: { control: Pick<StreamControl, 'decide'>; log: Logger },
  callId: string,
  raw: unknown,
  access: StreamAccess,
  by: DecidedBy,
): Promise<{ callId: string; decision: 'approve' | 'deny'; streamId: string } | TokenwireError> {
  const body = parseWith(ApprovalDecisionRequest, raw);
  if (!body.ok) return new TokenwireError('invalid_request', `The body is not a valid decision: ${body.message}.`);
  const token = body.value.token ?? access.token;
  try {
    const { streamId } = await deps.control.decide(callId, {
      decision: body.value.decision,
      authorize: (stream) => canControl(stream, { subject: access.subject, token }),
      reason: body.value.reason,
      code: body.value.code,
      args: body.value.args,
      by,
    });
    return { callId, decision: body.value.decision, streamId };
  } catch (error) {
    const known = toTokenwireError(error);
    if (known.code === 'internal') deps.log.error({ err: error, callId }, 'approval failed');
    return known;
  }
}
