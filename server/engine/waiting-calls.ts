import { TokenwireError, type ErrorCode } from '../../shared/errors.js';

// What the approval gate and the client output gate share: tool calls that each wait for one
// answer until a deadline, and the order in which an answer is refused (who, then what state).

/** A call that waits: its stream, its deadline, what its gate keeps of it, and how it is answered. */
export interface WaitingCall<Answer, Extra> {
  streamId: string;
  expiresAt: number;
  extra: Extra;
  settle(answer: Answer): void;
}

/** What a gate says when it refuses an answer. */
export interface Refusals {
  /** The message of `unknown_call` for a call never known. */
  unknown: (callId: string) => string;
  /** The message of `forbidden`. */
  forbidden: string;
  /** The code of an answer after the deadline. */
  expired: ErrorCode;
  /** The message of `already_decided`; undefined: the code's own. */
  answered?: string | undefined;
}

export interface WaitingCalls<Answer extends { outcome: string }, Extra> {
  /**
   * Waits for one call's answer until `expiresAt` (then `{ outcome: 'expired' }`); rejects with
   * the signal's reason on abort. The call is pending, and `onPending` called, before this returns.
   */
  wait(call: { callId: string; streamId: string; expiresAt: number; signal: AbortSignal; extra: Extra }, onPending: () => void): Promise<Answer>;
  /**
   * The pending call an answer is for. Authorises before saying anything about the call's state,
   * so a stranger learns nothing; throws `unknown_call`, `forbidden`, `refusals.expired` or `already_decided`.
   */
  open(callId: string, authorize: (streamId: string) => boolean, refusals: Refusals): { streamId: string; call: WaitingCall<Answer, Extra> };
  /** The call while it waits. */
  pendingCall(callId: string): WaitingCall<Answer, Extra> | undefined;
  /** The stream a call belongs to, if the calls know it. */
  streamOf(callId: string): string | undefined;
  readonly pending: number;
}

export interface WaitingCallsOptions<Answer extends { outcome: string }> {
  /** Past calls remembered for precise errors on late answers. */
  remember?: number | undefined;
  now?: (() => number) | undefined;
  /** A call's wait ended: its answer's outcome, `expired`, or `cancelled` (its stream aborted). */
  onSettled?: (callId: string, outcome: Answer['outcome'] | 'cancelled') => void;
}

/**
 * Calls keyed by call id, each answered at most once; what happened to a call is remembered
 * (bounded) so a replay or a late answer gets a precise error.
 */
export function createWaitingCalls<Answer extends { outcome: string }, Extra>(options: WaitingCallsOptions<Answer> = {}): WaitingCalls<Answer, Extra> {
  type Outcome = Answer['outcome'] | 'cancelled';
  const remember = options.remember ?? 10_000;
  const now = options.now ?? Date.now;
  const pending = new Map<string, WaitingCall<Answer, Extra>>();
  const settled = new Map<string, { streamId: string; outcome: Outcome }>();
  const expired = () => ({ outcome: 'expired' }) as Answer;

  const record = (callId: string, streamId: string, outcome: Outcome) => {
    pending.delete(callId);
    settled.set(callId, { streamId, outcome });
    if (settled.size > remember) settled.delete(settled.keys().next().value as string);
  };

  return {
    wait({ callId, streamId, expiresAt, signal, extra }, onPending) {
      return new Promise<Answer>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const finish = (answer: Answer | undefined, outcome: Outcome) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          record(callId, streamId, outcome);
          options.onSettled?.(callId, outcome);
          if (answer) resolve(answer);
          else reject(signal.reason);
        };
        const onAbort = () => finish(undefined, 'cancelled');
        const timer = setTimeout(() => finish(expired(), 'expired'), Math.max(0, expiresAt - now()));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(callId, { streamId, expiresAt, extra, settle: (answer) => finish(answer, answer.outcome) });
        onPending();
      });
    },
    open(callId, authorize, refusals) {
      const open = pending.get(callId);
      const past = settled.get(callId);
      const streamId = open?.streamId ?? past?.streamId;
      if (streamId === undefined) throw new TokenwireError('unknown_call', refusals.unknown(callId));
      if (!authorize(streamId)) throw new TokenwireError('forbidden', refusals.forbidden);
      if (open && now() >= open.expiresAt) {
        // The timer can fire late under load; the `expiresAt` the client was shown is what counts.
        open.settle(expired());
        throw new TokenwireError(refusals.expired);
      }
      if (!open) {
        if (past?.outcome === 'expired') throw new TokenwireError(refusals.expired);
        if (past?.outcome === 'cancelled') throw new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
        throw new TokenwireError('already_decided', refusals.answered);
      }
      return { streamId, call: open };
    },
    pendingCall: (callId) => pending.get(callId),
    streamOf: (callId) => pending.get(callId)?.streamId ?? settled.get(callId)?.streamId,
    get pending() {
      return pending.size;
    },
  };
}
