import { TokenwireError } from '../../shared/errors.js';
import type { DecisionTransport } from './approval-record.js';

/** Who decided, for the audit trail: the subject (when authenticated) and the way it came. */
export interface DecidedBy {
  subject?: string | undefined;
  transport: DecisionTransport;
}

export type Decision =
  | { outcome: 'approved'; by?: DecidedBy }
  | { outcome: 'denied'; reason?: string; by?: DecidedBy }
  | { outcome: 'expired' };

export interface DecideOptions {
  /** Whether the caller may decide for this stream: the owning socket, or the stream's approval token. */
  authorize: (streamId: string) => boolean;
  reason?: string | undefined;
  /** Who decides, kept on the decision for the audit trail. */
  by?: DecidedBy | undefined;
}

export interface ApprovalGate {
  /**
   * Waits for a person's decision on one tool call; rejects with the signal's reason on abort.
   * The call is pending as soon as this returns, so call it before showing the call to anyone.
   */
  wait(request: { callId: string; streamId: string; expiresAt: number; signal: AbortSignal }): Promise<Decision>;
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

interface Pending {
  streamId: string;
  expiresAt: number;
  settle: (decision: Decision) => void;
}

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
  onPending?: (call: { callId: string; streamId: string; expiresAt: number }) => void;
  /** A call's wait ended, decided or not. */
  onSettled?: (callId: string, outcome: Outcome) => void;
}

export function createApprovalGate(options: ApprovalGateOptions = {}): ApprovalGate {
  const remember = options.remember ?? 10_000;
  const now = options.now ?? Date.now;
  const pending = new Map<string, Pending>();
  const settled = new Map<string, { streamId: string; outcome: Outcome }>();

  const record = (callId: string, streamId: string, outcome: Outcome) => {
    pending.delete(callId);
    settled.set(callId, { streamId, outcome });
    if (settled.size > remember) settled.delete(settled.keys().next().value as string);
  };

  return {
    wait({ callId, streamId, expiresAt, signal }) {
      return new Promise<Decision>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const finish = (decision: Decision | undefined, outcome: Outcome) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          record(callId, streamId, outcome);
          options.onSettled?.(callId, outcome);
          if (decision) resolve(decision);
          else reject(signal.reason);
        };
        const onAbort = () => finish(undefined, 'cancelled');
        const timer = setTimeout(() => finish({ outcome: 'expired' }, 'expired'), Math.max(0, expiresAt - now()));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(callId, { streamId, expiresAt, settle: (d) => finish(d, d.outcome) });
        options.onPending?.({ callId, streamId, expiresAt });
      });
    },
    decide(callId, decision, { authorize, reason, by }) {
      const open = pending.get(callId);
      const past = settled.get(callId);
      const streamId = open?.streamId ?? past?.streamId;
      if (streamId === undefined) throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
      // Authorise before saying anything about the call's state, so a stranger learns nothing.
      if (!authorize(streamId)) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
      if (open && now() >= open.expiresAt) {
        // The timer can fire late under load; the `expiresAt` the client was shown is what counts.
        open.settle({ outcome: 'expired' });
        throw new TokenwireError('approval_expired');
      }
      if (!open) {
        if (past?.outcome === 'expired') throw new TokenwireError('approval_expired');
        if (past?.outcome === 'cancelled') throw new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
        throw new TokenwireError('already_decided');
      }
      const who = by ? { by } : {};
      open.settle(decision === 'approve' ? { outcome: 'approved', ...who } : { outcome: 'denied', ...(reason ? { reason } : {}), ...who });
      return { streamId };
    },
    streamOf: (callId) => pending.get(callId)?.streamId ?? settled.get(callId)?.streamId,
    get pending() {
      return pending.size;
    },
  };
}
