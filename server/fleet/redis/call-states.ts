import { TokenwireError, type ErrorCode } from '../../../shared/errors.js';

// What a tool call's record in Redis (`tw:call:<id>`) says, read both ways: the state a refused
// answer leaves it in, and a record script's verdict as the gates' typed errors.

/**
 * A call's state in Redis after the gate refused a decision (or an output) with this code;
 * undefined: leave it. A decider the tool's rule refused, an edit its schema refused, or an
 * output its schema refused leaves the call pending.
 */
export const stateAfter = (code: ErrorCode): string | undefined =>
  code === 'approval_expired' || code === 'tool_timeout'
    ? 'expired'
    : code === 'unknown_call'
      ? 'cancelled'
      : code === 'forbidden' || code === 'invalid_arguments' || code === 'invalid_request'
        ? 'pending'
        : undefined;

/** The state a client tool's output records: one of a call's possible states, like `approve`. */
export const OUTPUT = 'output';

/** A decision's (or an output's) verdict from the record scripts, as the gates' typed errors. */
export function refusal(verdict: string, callId: string, kind: 'decision' | 'output' = 'decision'): TokenwireError {
  if (verdict === 'unknown') return new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
  // An answer the call does not wait for: what one process's gate says of a call it does not hold.
  if (verdict === 'wrong_kind') return new TokenwireError('unknown_call', kind === 'output' ? `No tool call ${callId} waits for a client's output.` : `No tool call ${callId} is known.`);
  if (verdict === 'expired') return new TokenwireError(kind === 'output' ? 'tool_timeout' : 'approval_expired');
  if (kind === 'output' && verdict === OUTPUT) return new TokenwireError('already_decided', 'This tool call already has its output.');
  if (verdict === 'cancelled') return new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
  if (verdict === 'owner_lost') return new TokenwireError('owner_lost', 'The instance running this stream stopped answering; the decision was not recorded.');
  return new TokenwireError('already_decided');
}
