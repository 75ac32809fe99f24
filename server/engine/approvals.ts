import { TokenwireError } from '../../shared/errors.js';
import { canDecide } from '../access/stream-access.js';
import type { ToolDecider } from '../tools/registry.js';
import type { DecisionTransport } from './approval-record.js';
import { createWaitingCalls, type Refusals } from './waiting-calls.js';

/** Who decided, for the audit trail: the subject (when authenticated) and the way it came. */
export interface DecidedBy {
  subject?: string | undefined;
  transport: DecisionTransport;
}

/** Arguments a person edited, validated and bound again: what runs, and its RFC 8785 digest. */
export interface Edit {
  args: Record<string, unknown>;
  argsSha256: string;
}

export type Decision =
  | { outcome: 'approved'; by?: DecidedBy; reason?: string; edit?: Edit }
  | { outcome: 'denied'; reason?: string; code?: string; by?: DecidedBy }
  | { outcome: 'expired' };

export interface DecideOptions {
  /** Whether the caller may decide for this stream (after `review`, its verdict). */
  authorize: (streamId: string) => boolean;
  reason?: string | undefined;
  /** A denial's code. */
  code?: string | undefined;
  /** Edited arguments `review` validated and bound; approve only. */
  edit?: Edit | undefined;
  /** Who decides, kept on the decision for the audit trail. */
  by?: DecidedBy | undefined;
}

/** What the engine gives the gate about one call: the tool's rule on who decides, and how an edit is bound. */
export interface CallRules {
  /** The tool's `approval.authorize`, bound to the call. */
  authorize?: ((decider: ToolDecider) => boolean | Promise<boolean>) | undefined;
  /** Validates edited arguments against the tool's schema and binds them; `why` when invalid. */
  rebind(args: Record<string, unknown>): Promise<Edit | { why: string }>;
}

/** What a decision asks before it is applied: whether the caller may decide, and its edit. */
export interface ReviewRequest {
  /** The default rule's verdict (`canControl`): the caller controls the call's stream. */
  owns: boolean;
  by?: DecidedBy | undefined;
  args?: Record<string, unknown> | undefined;
}

export interface ApprovalGate {
  /**
   * Waits for a person's decision on one tool call; rejects with the signal's reason on abort.
   * The call is pending as soon as this returns, so call it before showing the call to anyone.
   */
  wait(request: { callId: string; streamId: string; expiresAt: number; signal: AbortSignal; rules?: CallRules | undefined }): Promise<Decision>;
  /**
   * The checks of a decision that may wait on the app: the tool's `authorize` (a pending call's
   * own rule, else `owns`) and, for an edit, the schema. Throws `invalid_arguments` for an edit
   * the schema refuses (the call stays pending). Changes nothing.
   */
  review(callId: string, request: ReviewRequest): Promise<{ allowed: boolean; edit?: Edit }>;
  /**
   * Decides a pending call once. Throws `unknown_call`, `forbidden`, `already_decided` or
   * `approval_expired`; a refused decision changes nothing.
   */
  decide(callId: string, decision: 'approve' | 'deny', options: DecideOptions): { streamId: string };
  /** The stream a call belongs to, if the gate knows the call. */
  streamOf(callId: string): string | undefined;
  readonly pending: number;
}

/** How a call's wait ended. */
export type Outcome = Decision['outcome'] | 'cancelled';

/**
 * Pending approvals keyed by call id. A call is decided at most once; what happened to it is
 * remembered (bounded) so a replay or a late decision gets a precise error. The arguments are
 * bound by the engine: it runs exactly the validated, frozen arguments it showed.
 */
export interface ApprovalGateOptions {
  /** Past calls remembered for precise errors on late decisions. */
  remember?: number;
  now?: () => number;
  /** A call is pending (the Redis ledger records it before the call is shown). */
  onPending?: (call: { callId: string; streamId: string; expiresAt: number; hasOwnRule?: boolean; kind?: 'approval' | 'output' }) => void;
  /** A call's wait ended, decided or not. */
  onSettled?: (callId: string, outcome: Outcome) => void;
}

/** What an approval gate refuses with: its codes and messages. */
const REFUSALS: Refusals = {
  unknown: (callId) => `No tool call ${callId} is known.`,
  forbidden: 'This connection may not decide that tool call.',
  expired: 'approval_expired',
};

export function createApprovalGate(options: ApprovalGateOptions = {}): ApprovalGate {
  const calls = createWaitingCalls<Decision, CallRules | undefined>(options);
  return {
    wait({ callId, streamId, expiresAt, signal, rules }) {
      return calls.wait({ callId, streamId, expiresAt, signal, extra: rules }, () => options.onPending?.({ callId, streamId, expiresAt, hasOwnRule: rules?.authorize !== undefined, kind: 'approval' }));
    },
    async review(callId, { owns, by, args }) {
      const open = calls.pendingCall(callId);
      if (!open) return { allowed: owns };
      const allowed = await canDecide(owns, { subject: by?.subject, transport: by?.transport ?? 'http' }, open.extra?.authorize);
      if (!allowed || args === undefined || !open.extra) return { allowed };
      const edit = await open.extra.rebind(args);
      if ('why' in edit) throw new TokenwireError('invalid_arguments', `The edited arguments are not valid: ${edit.why}. The call is still pending.`);
      return { allowed, edit };
    },
    decide(callId, decision, { authorize, reason, code, edit, by }) {
      const { streamId, call } = calls.open(callId, authorize, REFUSALS);
      const who = by ? { by } : {};
      const why = reason ? { reason } : {};
      call.settle(decision === 'approve' ? { outcome: 'approved', ...who, ...why, ...(edit ? { edit } : {}) } : { outcome: 'denied', ...why, ...(code ? { code } : {}), ...who });
      return { streamId };
    },
    streamOf: (callId) => calls.streamOf(callId),
    get pending() {
      return calls.pending;
    },
  };
}

/** A decision as a route asks for it: the default rule's verdict, who, and what. */
export interface DecideCallRequest {
  /** The default rule (`canControl`) for the call's stream. */
  owns: (streamId: string) => boolean;
  by?: DecidedBy | undefined;
  reason?: string | undefined;
  code?: string | undefined;
  args?: Record<string, unknown> | undefined;
}

/**
 * Reviews a decision (the tool's `authorize`, an edit's schema), then applies it once. The call's
 * stream is looked up first, so `unknown_call` answers before the rule runs; throws the gate's codes.
 */
export async function decideCall(gate: ApprovalGate, callId: string, decision: 'approve' | 'deny', request: DecideCallRequest): Promise<{ streamId: string }> {
  const streamId = gate.streamOf(callId);
  if (streamId === undefined) throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
  const owns = request.owns(streamId);
  const { allowed, edit } = await gate.review(callId, { owns, by: request.by, args: decision === 'approve' ? request.args : undefined });
  return gate.decide(callId, decision, { authorize: () => allowed, reason: request.reason, code: request.code, edit, by: request.by });
}
