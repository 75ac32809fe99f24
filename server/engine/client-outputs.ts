import { TokenwireError } from '../../shared/errors.js';
import type { DecidedBy } from './approvals.js';

/** What a client tool answered: its output, or its own error. */
export type ClientOutput = { ok: true; output: unknown } | { ok: false; error: { code: string; message: string } };

/** How a wait for a client's output ended. */
export type OutputWait = { outcome: 'answered'; answer: ClientOutput; by?: DecidedBy | undefined } | { outcome: 'expired' };

export interface DeliverOptions {
  /** Whether the caller may answer for this stream (the one access rule, `canControl`). */
  authorize: (streamId: string) => boolean;
  /** Who answered, for the audit trail. */
  by?: DecidedBy | undefined;
}

/**
 * Client tool calls waiting for the client's output, keyed by call id: the server side of
 * `tool_run` → `tool_output`. An output is taken once; what happened to a call is remembered
 * (bounded) so a replay or a late answer gets a precise error.
 */
export interface ClientOutputGate {
  /**
   * Waits for the output of one call until `expiresAt`; rejects with the signal's reason on
   * abort. The call is pending as soon as this returns: call it before the `tool_run` frame.
   */
  wait(request: { callId: string; streamId: string; expiresAt: number; signal: AbortSignal; check?: OutputCheck | undefined }): Promise<OutputWait>;
  /**
   * Hands a call its output once. Throws `unknown_call` (never known, or its stream ended),
   * `forbidden`, `already_decided` (answered before), `tool_timeout` (too late) or
   * `invalid_request` (the output fails the call's check); a refused output changes nothing.
   */
  deliver(callId: string, answer: ClientOutput, options: DeliverOptions): { streamId: string };
  /** The stream a call belongs to, if the gate knows the call. */
  streamOf(callId: string): string | undefined;
  readonly pending: number;
}

type Ended = 'answered' | 'expired' | 'cancelled';

/** A call's own check of an output (the tool's `outputSchema`): the value to use, or why not. */
export type OutputCheck = (output: unknown) => { ok: true; value: unknown } | { ok: false; message: string };

export interface ClientOutputGateOptions {
  /** Past calls remembered for precise errors on late outputs. */
  remember?: number;
  now?: () => number;
  /** A call waits (with a fleet: its record in Redis, so every instance can name its stream). */
  onPending?: (call: { callId: string; streamId: string; expiresAt: number }) => void;
  /** A call's wait ended without an output. */
  onSettled?: (callId: string, outcome: 'expired' | 'cancelled') => void;
}

export function createClientOutputGate(options: ClientOutputGateOptions = {}): ClientOutputGate {
  const remember = options.remember ?? 10_000;
  const now = options.now ?? Date.now;
  const pending = new Map<string, { streamId: string; expiresAt: number; check: OutputCheck | undefined; settle: (wait: OutputWait) => void }>();
  const settled = new Map<string, { streamId: string; outcome: Ended }>();

  const record = (callId: string, streamId: string, outcome: Ended) => {
    pending.delete(callId);
    settled.set(callId, { streamId, outcome });
    if (settled.size > remember) settled.delete(settled.keys().next().value as string);
  };

  return {
    wait({ callId, streamId, expiresAt, signal, check }) {
      return new Promise<OutputWait>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const finish = (wait: OutputWait | undefined, outcome: Ended) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          record(callId, streamId, outcome);
          if (outcome !== 'answered') options.onSettled?.(callId, outcome);
          if (wait) resolve(wait);
          else reject(signal.reason);
        };
        const onAbort = () => finish(undefined, 'cancelled');
        const timer = setTimeout(() => finish({ outcome: 'expired' }, 'expired'), Math.max(0, expiresAt - now()));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(callId, { streamId, expiresAt, check, settle: (wait) => finish(wait, wait.outcome) });
        options.onPending?.({ callId, streamId, expiresAt });
      });
    },
    deliver(callId, answer, { authorize, by }) {
      const open = pending.get(callId);
      const past = settled.get(callId);
      const streamId = open?.streamId ?? past?.streamId;
      if (streamId === undefined) throw new TokenwireError('unknown_call', `No tool call ${callId} waits for a client's output.`);
      // Authorise before saying anything about the call's state, so a stranger learns nothing.
      if (!authorize(streamId)) throw new TokenwireError('forbidden', 'This connection may not answer that tool call.');
      if (open && now() >= open.expiresAt) {
        // The timer can fire late under load; the `expiresAt` the client was shown is what counts.
        open.settle({ outcome: 'expired' });
        throw new TokenwireError('tool_timeout');
      }
      if (!open) {
        if (past?.outcome === 'expired') throw new TokenwireError('tool_timeout');
        if (past?.outcome === 'cancelled') throw new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
        throw new TokenwireError('already_decided', 'This tool call already has its output.');
      }
      let taken = answer;
      if (answer.ok && open.check) {
        const checked = open.check(answer.output);
        if (!checked.ok) throw new TokenwireError('invalid_request', `The tool output does not match the tool's output schema: ${checked.message}.`);
        taken = { ok: true, output: checked.value };
      }
      open.settle({ outcome: 'answered', answer: taken, by });
      return { streamId };
    },
    streamOf: (callId) => pending.get(callId)?.streamId ?? settled.get(callId)?.streamId,
    get pending() {
      return pending.size;
    },
  };
}
