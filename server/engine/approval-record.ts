import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Which way a decision arrived: the WebSocket, or `POST /api/approvals/:callId`. */
export type DecisionTransport = 'ws' | 'http';

/**
 * One approval decision as the audit trail keeps it: who decided which tool call
 * with which arguments, when, through what, and what the run then did.
 */
export interface ApprovalRecord {
  streamId: string;
  callId: string;
  tool: string;
  /** SHA-256 (hex) of the arguments in RFC 8785 canonical JSON: the exact arguments that ran (or would have). */
  argsSha256: string;
  /** True when the person edited the arguments: `argsSha256` names the edit, `shownArgsSha256` what was shown. */
  edited?: true;
  /** SHA-256 of the arguments the call was shown with, when they were edited. */
  shownArgsSha256?: string;
  /** The reason the person gave (approve or deny), at most 500 characters. */
  reason?: string;
  /** A denial's code (`^[a-z][a-z0-9_]{0,63}$`), when the person gave one. */
  denialCode?: string;
  /** `not_required` for a client tool that needs no approval: the record is of its output alone. */
  decision: 'approved' | 'denied' | 'expired' | 'not_required';
  /** The authenticated subject that decided; absent for anonymous use and expiries. */
  subject?: string;
  /** Absent for expiries: nobody decided. */
  transport?: DecisionTransport;
  /** The process that ran the stream (INSTANCE_ID). */
  instance: string;
  /** ISO 8601 times: when the call was shown for approval, and when it was decided. */
  requestedAt: string;
  decidedAt: string;
  /**
   * `ok`, the tool's error code, `cancelled` (the stream ended during the run), `not_run`, or for
   * a client tool: `client_error` (the client sent an error; its own code is `clientOutput.code`) or `tool_timeout`.
   */
  outcome: string;
  /** For a client tool the client answered: what it sent, by its digest. */
  clientOutput?: ClientOutputRecord;
}

/** A client tool's answer as the audit keeps it: never the output itself, only its digest and who sent it. */
export interface ClientOutputRecord {
  /** SHA-256 (hex) of the output in RFC 8785 canonical JSON (of `{ error }` when the client sent an error). */
  sha256: string;
  /** Whether the client sent an output (true) or an error (false). */
  ok: boolean;
  /** The client's own error code, when it sent an error: the client's word, never an audit outcome. */
  code?: string;
  /** The authenticated subject that answered; absent for anonymous use. */
  subject?: string;
  transport?: DecisionTransport;
  /** ISO 8601 time the answer was taken. */
  answeredAt: string;
}

/** SHA-256 of a JSON value in RFC 8785 canonical form, so equal arguments hash equal whatever their key order. */
export const canonicalSha256 = (value: unknown): string =>
  createHash('sha256').update(canonicalize(value) ?? 'null').digest('hex');

/** `canonicalSha256`, or why RFC 8785 cannot write the value (a lone surrogate, or no JSON at all). */
export function canonicalSha256Of(value: unknown): string | Error {
  try {
    return canonicalSha256(value);
  } catch (error) {
    const surrogate = error instanceof Error && /surrogate/i.test(error.message);
    return new Error(surrogate ? 'a string holds a lone surrogate, which is not Unicode text' : 'they cannot be written as canonical JSON');
  }
}
