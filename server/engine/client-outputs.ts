import { TokenwireError } from '../../shared/errors.js';
import { canonicalSha256Of } from './approval-record.js';
import type { DecidedBy } from './approvals.js';
import { createWaitingCalls, type Refusals } from './waiting-calls.js';

/** What a client tool answered: its output, or its own error. */
export type ClientOutput = { ok: true; output: unknown } | { ok: false; error: { code: string; message: string } };

/**
 * How a wait for a client's output ended. `answer` is what the call uses (the output as the
 * tool's `outputSchema` parsed it); `sha256` names the answer as the client sent it (RFC 8785).
 */
export type OutputWait = { outcome: 'answered'; answer: ClientOutput; sha256: string; by?: DecidedBy | undefined } | { outcome: 'expired' };

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

/** A call's own check of an output (the tool's `outputSchema`): the value to use, or why not. */
export type OutputCheck = (output: unknown) => { ok: true; value: unknown } | { ok: false; message: string };

export interface ClientOutputGateOptions {
  /** Past calls remembered for precise errors on late outputs. */
  remember?: number;
  now?: () => number;
  /** A call waits (with a fleet: its record in Redis, so every instance can name its stream). */
  onPending?: (call: { callId: string; streamId: string; expiresAt: number; kind: 'output' }) => void;
  /** A call's wait ended: answered, `expired`, or `cancelled` (its stream aborted). */
  onSettled?: (callId: string, outcome: 'answered' | 'expired' | 'cancelled') => void;
}

/** What the output gate refuses with: its codes and messages. */
const REFUSALS: Refusals = {
  unknown: (callId) => `No tool call ${callId} waits for a client's output.`,
  forbidden: 'This connection may not answer that tool call.',
  expired: 'tool_timeout',
  answered: 'This tool call already has its output.',
};

export function createClientOutputGate(options: ClientOutputGateOptions = {}): ClientOutputGate {
  // Every settle is reported, an answered one too: a fleet forgets the call as waiting here.
  const calls = createWaitingCalls<OutputWait, OutputCheck | undefined>(options);
  return {
    wait({ callId, streamId, expiresAt, signal, check }) {
      return calls.wait({ callId, streamId, expiresAt, signal, extra: check }, () => options.onPending?.({ callId, streamId, expiresAt, kind: 'output' }));
    },
    deliver(callId, answer, { authorize, by }) {
      const { streamId, call } = calls.open(callId, authorize, REFUSALS);
      // The audit names what the client sent, before a schema strips or transforms it.
      const sha256 = canonicalSha256Of(answer.ok ? answer.output : { error: answer.error });
      if (sha256 instanceof Error) throw new TokenwireError('invalid_request', `The tool output cannot be taken: ${sha256.message}.`);
      let taken = answer;
      if (answer.ok && call.extra) {
        const checked = call.extra(answer.output);
        if (!checked.ok) throw new TokenwireError('invalid_request', `The tool output does not match the tool's output schema: ${checked.message}.`);
        // A transform may return what no frame can carry (a BigInt, a cycle): refused, never thrown later.
        if (canonicalSha256Of(checked.value) instanceof Error) throw new TokenwireError('invalid_request', "The tool's output schema made the output something that is not JSON.");
        taken = { ok: true, output: checked.value };
      }
      call.settle({ outcome: 'answered', answer: taken, sha256, by });
      return { streamId };
    },
    streamOf: (callId) => calls.streamOf(callId),
    get pending() {
      return calls.pending;
    },
  };
}
