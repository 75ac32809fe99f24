import { findHiddenCharacters } from '../../shared/hidden-characters.js';
import { newCallId } from '../../shared/ids.js';
import { canonicalSha256, type ApprovalRecord } from './approval-record.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelToolCall } from '../models/provider.js';
import type { Stream } from '../streams/hub.js';
import { ToolError, type Tool } from '../tools/registry.js';
import type { ApprovalGate } from './approvals.js';
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
  /** Where client tools' calls wait for the client's output; without it a client tool's call fails. */
  clientOutputs?: ClientOutputGate;
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

const failure = (code: string, message: string): Outcome => ({ ok: false, error: { code, message } });

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The audit's hash of validated arguments, or why RFC 8785 cannot write them. */
function canonicalHashOf(args: unknown): string | Error {
  try {
    return canonicalSha256(args);
  } catch (error) {
    const surrogate = error instanceof Error && /surrogate/i.test(error.message);
    return new Error(surrogate ? 'a string holds a lone surrogate, which is not Unicode text' : 'they cannot be written as canonical JSON');
  }
}

function parseArguments(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text === '' ? '{}' : text) };
  } catch {
    return { ok: false };
  }
}

/** Runs a tool with a timeout; also gives up when the signal aborts, even if the tool ignores it. */
async function runTool(tool: Tool, args: unknown, stream: Stream, timeoutMs: number): Promise<Outcome> {
  const signal = AbortSignal.any([stream.signal, AbortSignal.timeout(timeoutMs)]);
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return { ok: true, result: await Promise.race([tool.run(args, { signal }), aborted]) };
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
 * wait for a person's decision when the tool needs one, run it, and show the result. Returns
 * what the model is told. Throws only when the stream is aborted.
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
  const parsed = raw.ok ? tool.parameters.safeParse(raw.value) : undefined;
  if (!parsed?.success) {
    const detail = parsed?.error.issues[0];
    const why = detail ? `${detail.message}${detail.path.length ? ` at ${detail.path.join('.')}` : ''}` : 'not JSON';
    return show(failure('invalid_arguments', `The arguments for ${tool.name} are not valid: ${why}.`));
  }
  // The person decides on exactly these arguments, and exactly these run.
  const args = deepFreeze(parsed.data) as Record<string, unknown>;
  // The audit record names them by their RFC 8785 canonical JSON, which has no lone surrogates:
  // arguments it cannot write are refused now, before anyone is asked to decide on them.
  const argsSha256 = canonicalHashOf(args);
  if (argsSha256 instanceof Error) return show(failure('invalid_arguments', `The arguments for ${tool.name} are not valid: ${argsSha256.message}.`));
  // Zero-width and bidi control characters are named, so a card can show what it cannot display.
  const hidden = findHiddenCharacters(args);
  // A client tool is shown as the client's, and where the server would run a tool, the client's output is awaited.
  const onClient = isClientTool(tool) ? tool : undefined;
  const marked = { ...(hidden.length ? { hiddenCharacters: hidden } : {}), ...(onClient ? { runsOn: 'client' as const } : {}) };
  let answered: ApprovalRecord['clientOutput'];
  const execute = async (): Promise<Outcome> => {
    if (!onClient) return runTool(tool, args, stream, deps.toolTimeoutMs);
    const { outcome, record } = await awaitClientOutput(stream, callId, onClient, deps);
    answered = record;
    return outcome;
  };

  if (tool.needsApproval) {
    if (stream.signal.aborted) throw stream.signal.reason;
    const requestedAt = Date.now();
    const expiresAt = requestedAt + deps.approvalTimeoutMs;
    // Pending before it is shown: a decision may arrive as soon as the frame is out.
    const waiting = deps.approvals.wait({ callId, streamId: stream.id, expiresAt, signal: stream.signal });
    stream.append({ type: 'tool_call', callId, name: tool.name, args, approval: 'required', expiresAt, ...marked });
    const decision = await waiting;
    const decidedAt = Date.now();
    deps.metrics.approvals.inc({ outcome: decision.outcome });
    deps.metrics.approvalWait.observe({ outcome: decision.outcome }, (decidedAt - requestedAt) / 1000);
    const audit = (outcome: string) =>
      deps.auditApproval?.({
        streamId: stream.id,
        callId,
        tool: tool.name,
        argsSha256,
        decision: decision.outcome,
        ...(decision.outcome !== 'expired' && decision.by?.subject !== undefined ? { subject: decision.by.subject } : {}),
        ...(decision.outcome !== 'expired' && decision.by ? { transport: decision.by.transport } : {}),
        requestedAt: new Date(requestedAt).toISOString(),
        decidedAt: new Date(decidedAt).toISOString(),
        outcome,
        ...(answered ? { clientOutput: answered } : {}),
      });
    if (decision.outcome === 'denied') {
      audit('not_run');
      return show(failure('denied', `The user denied this call${decision.reason ? `: ${decision.reason}` : ''}.`));
    }
    if (decision.outcome === 'expired') {
      audit('not_run');
      return show(failure('approval_expired', 'Nobody approved this call in time.'));
    }
    let ran: Outcome | undefined;
    try {
      ran = await execute();
    } finally {
      // The record is written once the run's outcome is known; an abort mid-run is `cancelled`.
      audit(ran === undefined ? 'cancelled' : ran.ok ? 'ok' : ran.error.code);
    }
    return show(ran);
  } else {
    stream.append({ type: 'tool_call', callId, name: tool.name, args, approval: 'not_required', ...marked });
  }
  const requestedAt = new Date().toISOString();
  const ran = await execute();
  // A client tool's output is audited even without an approval: what came back from the browser, by digest.
  if (answered) deps.auditApproval?.({ streamId: stream.id, callId, tool: tool.name, argsSha256, decision: 'not_required', requestedAt, decidedAt: answered.answeredAt, outcome: ran.ok ? 'ok' : ran.error.code, clientOutput: answered });
  return show(ran);
}
