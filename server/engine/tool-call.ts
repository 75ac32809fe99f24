import { findHiddenCharacters } from '../../shared/hidden-characters.js';
import { newCallId } from '../../shared/ids.js';
import type { ApprovalRecord } from './approval-record.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelToolCall } from '../models/provider.js';
import type { Stream } from '../streams/hub.js';
import { ToolError, type Tool, type ToolCallInfo, type ToolRunContext } from '../tools/registry.js';
import type { ApprovalGate, CallRules } from './approvals.js';
import { bind, displayOf, needsApprovalOf, parseArguments } from './tool-arguments.js';
import type { ClientOutputGate } from './client-outputs.js';
import { awaitClientOutput } from './client-tool-call.js';
import { isClientTool } from '../tools/client-tool.js';

export interface ToolCallDeps {
  approvals: ApprovalGate;
  approvalTimeoutMs: number;
  toolTimeoutMs: number;
  metrics: Metrics;
  /** Keeps one record per approval decision; the core adds the instance, stores and logs it. */
  auditApproval?: (record: Omit<ApprovalRecord, 'instance'>) => void;
  /** Where a tool's own function that threw (`needsApproval`, `display`) is logged with its cause. */
  log?: Logger;
  /** Where client tools' calls wait for the client's output; without it a client tool's call fails. */
  clientOutputs?: ClientOutputGate;
}

/** What the model is told of a call, and the `tool_result` frame shows: additive fields say what a person changed or why they refused. */
type Outcome =
  | { ok: true; result: unknown; edited?: true; args?: Record<string, unknown> }
  | { ok: false; error: { code: string; message: string }; edited?: true; args?: Record<string, unknown>; denial?: { code?: string; reason?: string } };

const failure = (code: string, message: string): Outcome => ({ ok: false, error: { code, message } });

/** Runs a tool with a timeout; also gives up when the signal aborts, even if the tool ignores it. */
async function runTool(tool: Tool, args: unknown, stream: Stream, timeoutMs: number, context: Omit<ToolRunContext, 'signal'>): Promise<Outcome> {
  const signal = AbortSignal.any([stream.signal, AbortSignal.timeout(timeoutMs)]);
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return { ok: true, result: await Promise.race([tool.run(args, { ...context, signal }), aborted]) };
  } catch (error) {
    if (stream.signal.aborted) throw stream.signal.reason;
    if (signal.aborted) return failure('tool_timeout', `The tool did not finish within ${timeoutMs} ms.`);
    if (error instanceof ToolError) return failure(error.code, error.message);
    return failure('tool_failed', 'The tool failed.');
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * One tool call from the model: validate its arguments against the tool's schema, show it,
 * wait for a person's decision when the tool needs one (the decision may edit the arguments:
 * validated and bound again), run it, and show the result. Returns what the model is told.
 * Throws only when the stream is aborted.
 */
export async function handleToolCall(stream: Stream, call: ModelToolCall, tools: Tool[], deps: ToolCallDeps): Promise<Outcome> {
  const callId = newCallId();
  const show = (outcome: Outcome): Outcome => {
    stream.append({ type: 'tool_result', callId, ...outcome });
    return outcome;
  };

  const tool = tools.find((t) => t.name === call.name);
  if (!tool) return show(failure('unknown_tool', `There is no tool named "${call.name}".`));
  const raw = parseArguments(call.arguments);
  // The person decides on exactly these arguments, and exactly these run. The audit record names
  // them by their RFC 8785 canonical JSON, which has no lone surrogates: arguments it cannot
  // write are refused now, before anyone is asked to decide on them.
  const bound = raw.ok ? await bind(tool, raw.value) : { why: 'not JSON' };
  if ('why' in bound) return show(failure('invalid_arguments', `The arguments for ${tool.name} are not valid: ${bound.why}.`));
  const { args, argsSha256 } = bound;
  // Zero-width and bidi control characters are named, so a card can show what it cannot display.
  const hidden = findHiddenCharacters(args);
  // A client tool is shown as the client's, and where the server would run a tool, the client's output is awaited.
  const onClient = isClientTool(tool) ? tool : undefined;
  const marked = { ...(hidden.length ? { hiddenCharacters: hidden } : {}), ...(onClient ? { runsOn: 'client' as const } : {}) };
  let answered: ApprovalRecord['clientOutput'];
  // A client picks its own error code (it may write `ok` or `denied`): the audit says `client_error`.
  const outcomeOf = (ran: Outcome): string => (ran.ok ? 'ok' : answered && !answered.ok ? 'client_error' : ran.error.code);
  const execute = async (runArgs: Record<string, unknown>, context: Omit<ToolRunContext, 'signal'>, edited: boolean): Promise<Outcome> => {
    if (!onClient) return runTool(tool, runArgs, stream, runTimeoutMs, context);
    const { outcome, record } = await awaitClientOutput(stream, callId, onClient, deps, edited ? runArgs : undefined);
    answered = record;
    return outcome;
  };
  const info: ToolCallInfo = { subject: stream.subject, streamId: stream.id, callId };
  const runTimeoutMs = tool.timeoutMs ?? deps.toolTimeoutMs;

  const needed = await needsApprovalOf(tool, args, info);
  if (stream.signal.aborted) throw stream.signal.reason;
  // A broken predicate must not decide that nobody is asked: the call fails and never runs.
  if (needed instanceof Error) {
    deps.log?.warn({ err: needed, streamId: stream.id, callId, tool: tool.name }, 'needsApproval threw');
    return show(failure('approval_check_failed', `Whether ${tool.name} needs approval could not be decided; it did not run.`));
  }
  if (!needed) {
    stream.append({ type: 'tool_call', callId, name: tool.name, args, approval: 'not_required', ...marked });
    if (!onClient) return show(await execute(args, info, false));
    const requestedAt = new Date().toISOString();
    let ran: Outcome | undefined;
    try {
      ran = await execute(args, info, false);
    } finally {
      // A client tool's call is audited even without an approval, answered or not: what came back
      // from the browser by digest, else `tool_timeout`, or `cancelled` when the stream ended first.
      deps.auditApproval?.({
        streamId: stream.id,
        callId,
        tool: tool.name,
        argsSha256,
        decision: 'not_required',
        requestedAt,
        decidedAt: answered?.answeredAt ?? new Date().toISOString(),
        outcome: ran === undefined ? 'cancelled' : outcomeOf(ran),
        ...(answered ? { clientOutput: answered } : {}),
      });
    }
    return show(ran);
  }

  const card = await displayOf(tool, args, info);
  if (stream.signal.aborted) throw stream.signal.reason;
  if (card instanceof Error) {
    deps.log?.warn({ err: card, streamId: stream.id, callId, tool: tool.name }, 'approval.display failed');
    return show(failure('display_failed', `The approval card for ${tool.name} could not be made; it did not run.`));
  }
  const authorize = tool.approval?.authorize;
  const rules: CallRules = {
    authorize: authorize ? (decider) => authorize.call(tool.approval, decider, { ...info, args }) : undefined,
    rebind: (edited) => bind(tool, edited),
  };
  const requestedAt = Date.now();
  const expiresAt = requestedAt + (tool.approval?.timeoutMs ?? deps.approvalTimeoutMs);
  // Pending before it is shown: a decision may arrive as soon as the frame is out.
  const waiting = deps.approvals.wait({ callId, streamId: stream.id, expiresAt, signal: stream.signal, rules });
  stream.append({ type: 'tool_call', callId, name: tool.name, args, approval: 'required', expiresAt, ...marked, ...card });
  const decision = await waiting;
  const decidedAt = Date.now();
  deps.metrics.approvals.inc({ outcome: decision.outcome });
  deps.metrics.approvalWait.observe({ outcome: decision.outcome }, (decidedAt - requestedAt) / 1000);
  // An "edit" that binds to the same digest changed nothing.
  const edit = decision.outcome === 'approved' && decision.edit && decision.edit.argsSha256 !== argsSha256 ? decision.edit : undefined;
  const audit = (outcome: string) =>
    deps.auditApproval?.({
      streamId: stream.id,
      callId,
      tool: tool.name,
      argsSha256: edit?.argsSha256 ?? argsSha256,
      ...(edit ? { edited: true as const, shownArgsSha256: argsSha256 } : {}),
      decision: decision.outcome,
      ...(decision.outcome !== 'expired' && decision.by?.subject !== undefined ? { subject: decision.by.subject } : {}),
      ...(decision.outcome !== 'expired' && decision.by ? { transport: decision.by.transport } : {}),
      ...(decision.outcome !== 'expired' && decision.reason ? { reason: decision.reason } : {}),
      ...(decision.outcome === 'denied' && decision.code ? { denialCode: decision.code } : {}),
      requestedAt: new Date(requestedAt).toISOString(),
      decidedAt: new Date(decidedAt).toISOString(),
      outcome,
      ...(answered ? { clientOutput: answered } : {}),
    });
  if (decision.outcome === 'denied') {
    audit('not_run');
    const { reason, code } = decision;
    const denial = { ...(code ? { code } : {}), ...(reason ? { reason } : {}) };
    return show({
      ...failure('denied', `The user denied this call${code ? ` (${code})` : ''}${reason ? `: ${reason}` : ''}.`),
      // Structured only when the person gave a code: a reason alone is already in the message.
      ...(code ? { denial } : {}),
    });
  }
  if (decision.outcome === 'expired') {
    audit('not_run');
    return show(failure('approval_expired', 'Nobody approved this call in time.'));
  }
  const approval = { by: decision.by?.subject, edited: edit !== undefined, ...(decision.reason ? { reason: decision.reason } : {}) };
  let ran: Outcome | undefined;
  try {
    ran = await execute(edit?.args ?? args, { ...info, approval }, edit !== undefined);
  } finally {
    // The record is written once the run's outcome is known; an abort mid-run is `cancelled`.
    audit(ran === undefined ? 'cancelled' : outcomeOf(ran));
  }
  // The stream and the model see what ran, when it is not what was shown.
  return show(edit ? { ...ran, edited: true, args: edit.args } : ran);

}
