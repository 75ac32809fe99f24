import type { HiddenCharacters } from '../shared/hidden-characters.js';
import type { ServerFrameOf } from '../shared/protocol.js';
import type { ApproveOptions, DecisionOptions, DenyOptions, ToolCall, ToolCallStatus, ToolResult } from './types.js';

/** Sends a person's decision on a call; the stream supplies it. */
export type Decide = (call: ToolCallHandle, decision: 'approve' | 'deny', options?: DecisionOptions) => Promise<void>;

/** A tool call the model made, with its status; `approve`/`deny` go through the stream. */
export class ToolCallHandle implements ToolCall {
  status: ToolCallStatus;
  readonly expiresAt: number | undefined;
  readonly callId: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly approval: 'required' | 'not_required';
  readonly hiddenCharacters: readonly HiddenCharacters[];
  readonly display: unknown;
  /** The server's `tool_result` arrived: nothing reopens the call. */
  private settled = false;
  readonly runsOn: 'server' | 'client';

  constructor(
    frame: ServerFrameOf<'tool_call'>,
    private readonly decide: Decide,
  ) {
    this.callId = frame.callId;
    this.name = frame.name;
    this.args = frame.args;
    this.approval = frame.approval;
    this.expiresAt = frame.expiresAt;
    this.hiddenCharacters = frame.hiddenCharacters ?? [];
    this.display = frame.display;
    this.runsOn = frame.runsOn ?? 'server';
    this.status = frame.approval === 'required' ? 'pending' : 'not_required';
  }

  /** Waiting for a person, or for the server to take the decision sent. */
  get open(): boolean {
    return this.status === 'pending' || this.status === 'approving' || this.status === 'denying';
  }

  /** The server refused the approval sent (an invalid edit) and the call still waits: pending again. */
  reopen(): void {
    if (!this.settled && (this.status === 'approving' || this.status === 'approved')) this.status = 'pending';
  }

  approve(options?: ApproveOptions): Promise<void> {
    return this.decide(this, 'approve', options && { ...(options.args ? { args: options.args } : {}), ...(options.reason ? { reason: options.reason } : {}) });
  }

  deny(reason?: string | DenyOptions): Promise<void> {
    const options = typeof reason === 'string' ? { reason } : reason;
    return this.decide(this, 'deny', options && { ...(options.reason ? { reason: options.reason } : {}), ...(options.code ? { code: options.code } : {}) });
  }

  /**
   * The server's `tool_result` closes the call whatever this client saw: a call that expired or
   * was decided elsewhere while it was away is never offered again.
   */
  settleWith(result: ToolResult): void {
    this.settled = true;
    if (!this.open) return;
    const code = result.error?.code;
    if (code === 'approval_expired') this.status = 'expired';
    else if (code === 'denied' || this.status === 'denying') this.status = 'denied';
    else this.status = 'approved';
  }
}
