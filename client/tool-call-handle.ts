import type { HiddenCharacters } from '../shared/hidden-characters.js';
import { TokenwireError } from '../shared/errors.js';
import { ApproveFrame, DenyFrame, type ServerFrameOf } from '../shared/protocol.js';
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
    const sent = options && { ...(options.args ? { args: options.args } : {}), ...(options.reason ? { reason: options.reason } : {}) };
    return this.checked(ApproveFrame.safeParse({ type: 'approve', callId: this.callId, ...sent })) ?? this.decide(this, 'approve', sent);
  }

  deny(reason?: string | DenyOptions): Promise<void> {
    const options = typeof reason === 'string' ? { reason } : reason;
    const sent = options && { ...(options.reason ? { reason: options.reason } : {}), ...(options.code ? { code: options.code } : {}) };
    return this.checked(DenyFrame.safeParse({ type: 'deny', callId: this.callId, ...sent })) ?? this.decide(this, 'deny', sent);
  }

  /**
   * A decision the protocol refuses (a bad deny code, a reason too long) is refused here, before
   * anything is sent and with the call still pending: over the WebSocket the server's answer to a
   * malformed frame names no stream, so the call would wait for a decision that never counted.
   */
  private checked(parsed: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }): Promise<void> | undefined {
    if (parsed.success) return undefined;
    const issue = parsed.error?.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
    return Promise.reject(new TokenwireError('invalid_request', `The decision is not valid: ${issue?.message ?? 'invalid'}${where}.`));
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
