import type { ApprovalAudit } from '../engine/approval-audit.js';
import type { ApprovalGate, ApprovalGateOptions, DecidedBy, Outcome } from '../engine/approvals.js';
import type { ClientOutput, ClientOutputGate } from '../engine/client-outputs.js';
import type { Conversations } from './conversations.js';
import type { SharedClientLimits } from '../access/client-limits.js';
import type { Hub, Stream, StreamLog } from '../streams/hub.js';
import type { StartKeys } from '../streams/start-keys.js';
import type { StreamStore } from '../streams/stream-store.js';

/** A decision on a tool call as any transport asks for it. */
export interface DecideRequest {
  decision: 'approve' | 'deny';
  /**
   * The default rule (`canControl`): the caller controls this stream (its socket, subject or
   * stream token). The call's tool may widen or narrow it (`approval.authorize`) where the call waits.
   */
  authorize: (stream: StreamLog) => boolean;
  reason?: string | undefined;
  /** A denial's code. */
  code?: string | undefined;
  /** Edited arguments, with `approve`: validated again where the call waits. */
  args?: Record<string, unknown> | undefined;
  by: DecidedBy;
}

/** A client tool's output as any transport hands it over. */
export interface OutputRequest {
  answer: ClientOutput;
  /** Whether the caller may answer for this stream (its socket, subject or stream token). */
  authorize: (stream: StreamLog) => boolean;
  by: DecidedBy;
}

/**
 * The instances a process shares streams with: nothing for one process with the
 * memory store; Redis (server/fleet/redis/redis-fleet.ts) when REDIS_URL is set. It gives the store,
 * the limits and the audit trail they share, finds streams other instances run, and routes
 * control (cancel, decisions, viewers) to a stream's owner.
 */
/** What both gates report of their calls: one waits, one's wait ended (any gate's outcome). */
export interface GateHooks {
  onPending: NonNullable<ApprovalGateOptions['onPending']>;
  onSettled: (callId: string, outcome: Outcome | 'answered') => void;
}

export interface Fleet {
  /** This process's incarnation (instance#random): the owner named in what it shares. */
  readonly incarnation: string;
  readonly store: StreamStore;
  readonly limits: SharedClientLimits;
  readonly audit: ApprovalAudit;
  /** Chat starts' idempotency keys, shared so a retry on any instance finds the stream. */
  readonly startKeys: StartKeys;
  /** The AI SDK's and AG-UI's conversations (their ids → streams), shared so a resume or cancel on any instance finds them. */
  readonly conversations: Conversations;
  /** Hooks the approval gate and the client output gate call so every instance sees a call's state. */
  readonly gateHooks: GateHooks;
  /** False while Redis is unreachable: new streams are refused with `store_unavailable`. */
  readonly available: boolean;
  /** Connects the hub and the gates once they exist: control messages reach them. */
  bind(hub: Hub, gate: ApprovalGate, outputs: ClientOutputGate): void;
  /** A generation starts here: every instance may now find it (called before its first frame). */
  register(stream: Stream): void;
  /** A generation here ended: its metadata lives on for the stream's TTL. */
  finished(stream: Stream): void;
  /** A stream another instance runs, as a view of the shared log with control routed to its owner. */
  find(id: string): Promise<StreamLog | undefined>;
  /** Records a decision once for every instance, then applies it where the call waits. Throws the gate's codes. */
  decide(callId: string, request: DecideRequest): Promise<{ streamId: string }>;
  /**
   * Hands a client tool's output to its call wherever it waits: recorded once for every
   * instance (as a decision is), then applied by the call's owner. Throws the output gate's codes.
   */
  deliverOutput(callId: string, request: OutputRequest): Promise<{ streamId: string }>;
  /** The stream a tool call belongs to, wherever it waits. */
  streamOfCall(callId: string): Promise<string | undefined>;
  close(): Promise<void>;
}
