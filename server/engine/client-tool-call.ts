import type { z } from 'zod';
import type { ClientOutputRecord } from './approval-record.js';
import type { ClientOutputGate } from './client-outputs.js';
import type { Stream } from '../streams/hub.js';
import type { ClientTool } from '../tools/client-tool.js';

/** An output against the tool's `outputSchema`: the parsed value, or the first issue. */
function checkOutput(schema: z.ZodType, output: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = schema.safeParse(output);
  } catch {
    // A refinement or transform of the app's that throws refuses the output; it must not end the stream.
    return { ok: false, message: 'the schema threw' };
  }
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: issue ? `${issue.message}${issue.path.length ? ` at ${issue.path.join('.')}` : ''}` : 'invalid' };
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/**
 * The client's half of a client tool's call: mark it pending, show `tool_run` with its deadline,
 * and wait for the client's `tool_output`. Returns what the model is told (`tool_timeout` when
 * nobody answered in time) and, when the client answered, what the audit records of it.
 * Throws only when the stream is aborted.
 */
export async function awaitClientOutput(
  stream: Stream,
  callId: string,
  tool: ClientTool,
  deps: { clientOutputs?: ClientOutputGate | undefined; approvalTimeoutMs: number },
  /** Arguments a person edited before approving: the client runs these, not the `tool_call`'s. */
  edited?: Record<string, unknown>,
): Promise<{ outcome: Outcome; record?: ClientOutputRecord }> {
  if (stream.signal.aborted) throw stream.signal.reason;
  const timeoutMs = tool.timeoutMs ?? deps.approvalTimeoutMs;
  if (!deps.clientOutputs) {
    return { outcome: { ok: false, error: { code: 'tool_failed', message: 'This server takes no client tool outputs.' } } };
  }
  const expiresAt = Date.now() + timeoutMs;
  // Pending before it is shown: an output may arrive as soon as the frame is out.
  const schema = tool.outputSchema;
  const check = schema ? (output: unknown) => checkOutput(schema, output) : undefined;
  const waiting = deps.clientOutputs.wait({ callId, streamId: stream.id, expiresAt, signal: stream.signal, check });
  stream.append({ type: 'tool_run', callId, expiresAt, ...(edited ? { args: edited } : {}) });
  const wait = await waiting;
  if (wait.outcome === 'expired') {
    return { outcome: { ok: false, error: { code: 'tool_timeout', message: `The client did not answer within ${timeoutMs} ms.` } } };
  }
  const { answer, sha256, by } = wait;
  const record: ClientOutputRecord = {
    // The digest of the answer as received, taken by the gate before the output schema's check.
    sha256,
    ok: answer.ok,
    ...(answer.ok ? {} : { code: answer.error.code }),
    answeredAt: new Date().toISOString(),
    ...(by?.subject !== undefined ? { subject: by.subject } : {}),
    ...(by ? { transport: by.transport } : {}),
  };
  return { outcome: answer.ok ? { ok: true, result: answer.output } : { ok: false, error: answer.error }, record };
}
