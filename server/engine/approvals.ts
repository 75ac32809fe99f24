import { TokenwireError } from '../../shared/errors.js';

export type Decision = { outcome: 'approved' } | { outcome: 'denied'; reason?: string } | { outcome: 'expired' };

export interface DecideOptions {
  /** Whether the caller may decide for this stream: the owning socket, or the stream's approval token. */
  authorize: (streamId: string) => boolean;
  reason?: string | undefined;
}

export interface ApprovalGate {
  /** Waits for a person's decision on one tool call; rejects with the signal's reason on abort. */
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

interface Pending {
  streamId: string;
  settle: (decision: Decision) => void;
}

/**
 * Pending approvals keyed by call id. A call is decided at most once; what happened to it is
 * remembered (bounded) so a replay or a late decision gets a precise error. The arguments are
 * bound by the engine: it runs exactly the validated, frozen arguments it showed.
 */
export function createApprovalGate(options: { remember?: number } = {}): ApprovalGate {
  const remember = options.remember ?? 10_000;
  const pending = new Map<string, Pending>();
  const settled = new Map<string, { streamId: string; outcome: Decision['outcome'] | 'cancelled' }>();

  const record = (callId: string, streamId: string, outcome: Decision['outcome'] | 'cancelled') => {
    pending.delete(callId);
    settled.set(callId, { streamId, outcome });
    if (settled.size > remember) settled.delete(settled.keys().next().value as string);
  };

  return {
    wait({ callId, streamId, expiresAt, signal }) {
      return new Promise<Decision>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const finish = (decision: Decision | undefined, outcome: Decision['outcome'] | 'cancelled') => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          record(callId, streamId, outcome);
          if (decision) resolve(decision);
          else reject(signal.reason);
        };
        const onAbort = () => finish(undefined, 'cancelled');
        const timer = setTimeout(() => finish({ outcome: 'expired' }, 'expired'), Math.max(0, expiresAt - Date.now()));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(callId, { streamId, settle: (d) => finish(d, d.outcome) });
      });
    },
    decide(callId, decision, { authorize, reason }) {
      const open = pending.get(callId);
      const past = settled.get(callId);
      const streamId = open?.streamId ?? past?.streamId;
      if (streamId === undefined) throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
      if (!authorize(streamId)) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
      if (!open) {
        if (past?.outcome === 'expired') throw new TokenwireError('approval_expired');
        if (past?.outcome === 'cancelled') throw new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
        throw new TokenwireError('already_decided');
      }
      open.settle(decision === 'approve' ? { outcome: 'approved' } : { outcome: 'denied', ...(reason ? { reason } : {}) });
      return { streamId };
    },
    streamOf: (callId) => pending.get(callId)?.streamId ?? settled.get(callId)?.streamId,
    get pending() {
      return pending.size;
    },
  };
}
