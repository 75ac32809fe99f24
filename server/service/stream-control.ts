import { TokenwireError } from '../../shared/errors.js';
import { decideCall, type ApprovalGate } from '../engine/approvals.js';
import type { ClientOutputGate } from '../engine/client-outputs.js';
import type { DecideRequest, Fleet, OutputRequest } from '../fleet/fleet.js';
import type { Hub, StreamLog } from '../streams/hub.js';

/**
 * Stream control: find a stream, decide its tool calls, cancel it (through the stream's own
 * acknowledged `cancel()`), drain and shut down. Where a stream and its calls live — this
 * process, or another instance through the fleet — is decided here, once.
 */
export interface StreamControl {
  /** A stream by id: this process's, else (with a fleet) one another instance runs. */
  findStream(id: string): Promise<StreamLog | undefined>;
  /** This process's own stream by id, without asking the fleet: undefined when another instance runs it, or none does. */
  localStream(id: string): StreamLog | undefined;
  /**
   * Decides a tool call wherever it waits: recorded once (with a fleet: for every instance)
   * before it is applied. Throws `unknown_call`, `forbidden`, `invalid_arguments` (an edit; the
   * call stays pending), `already_decided`, `approval_expired`.
   */
  decide(callId: string, request: DecideRequest): Promise<{ streamId: string }>;
  /**
   * Hands a client tool's call its output wherever it waits: recorded once (with a fleet: for
   * every instance, then sent to the owner as a decision is). Throws `unknown_call`,
   * `forbidden`, `already_decided`, `tool_timeout`, and with a fleet `owner_lost`, `store_unavailable`.
   */
  deliverOutput(callId: string, request: OutputRequest): Promise<{ streamId: string }>;
  /** The stream a tool call belongs to, if any instance knows the call. */
  streamOfCall(callId: string): Promise<string | undefined>;
  /** True from `drain()` on: readiness turns false and new chats get `server_shutdown`. */
  readonly draining: boolean;
  drain(): void;
  /**
   * Drains, then stops, within `deadlineMs`: running generations (and calls waiting for a
   * decision) go on until they end or the drain's share of the deadline passes; whatever is left
   * then ends with `server_shutdown`, and the engines get the rest of the deadline to finish.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

/** What a shutdown keeps for ending the streams a drain left (ms): a fifth of the deadline, at most 2 s. */
const stopReserveMs = (deadlineMs: number) => Math.min(2_000, deadlineMs / 5);

export type { OutputRequest };

export function createStreamControl(deps: {
  hub: Hub;
  approvals: ApprovalGate;
  clientOutputs: ClientOutputGate;
  fleet: Fleet | undefined;
  enginesIdle: (deadlineMs: number) => Promise<void>;
  /** Drain began: starts still being decided (an app's slow prepareRequest) are answered server_shutdown. */
  onDrain?: () => void;
}): StreamControl {
  const { hub, approvals, clientOutputs, fleet } = deps;
  let draining = false;
  /** Throws `store_unavailable` (503, retryable) while the shared store (Redis) is unreachable. */
  const storeAvailable = () => {
    if (fleet && !fleet.available) throw new TokenwireError('store_unavailable');
  };
  return {
    async findStream(id) {
      const local = hub.get(id);
      if (local) return local;
      // Another instance's stream is found through Redis: while it is away, say so at once
      // rather than queue the lookup until it returns (ioredis's offline queue).
      storeAvailable();
      return hub.find(id);
    },
    localStream: (id) => hub.get(id),
    async decide(callId, request) {
      if (fleet) {
        storeAvailable();
        return fleet.decide(callId, request);
      }
      const { decision, authorize, reason, code, args, by } = request;
      return decideCall(approvals, callId, decision, {
        owns: (id) => {
          const stream = hub.get(id);
          return stream !== undefined && authorize(stream);
        },
        reason,
        code,
        args,
        by,
      });
    },
    async deliverOutput(callId, request) {
      if (fleet) {
        storeAvailable();
        return fleet.deliverOutput(callId, request);
      }
      const { answer, authorize, by } = request;
      return clientOutputs.deliver(callId, answer, {
        authorize: (id) => {
          const stream = hub.get(id);
          return stream !== undefined && authorize(stream);
        },
        by,
      });
    },
    async streamOfCall(callId) {
      if (!fleet) return approvals.streamOf(callId) ?? clientOutputs.streamOf(callId);
      storeAvailable();
      return clientOutputs.streamOf(callId) ?? fleet.streamOfCall(callId);
    },
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
      deps.onDrain?.();
    },
    async shutdown(deadlineMs) {
      draining = true;
      deps.onDrain?.();
      const until = Date.now() + deadlineMs;
      // A deploy should not cut answers: let them finish, keeping time to end the rest cleanly
      // (their server_shutdown and done written to the store and every view).
      await deps.enginesIdle(deadlineMs - stopReserveMs(deadlineMs));
      hub.abortAll('shutdown');
      await deps.enginesIdle(Math.max(0, until - Date.now()));
      hub.close();
    },
  };
}
