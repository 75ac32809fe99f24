import type { TokenwireError } from '../../shared/errors.js';
import type { DoneReason, Usage } from '../../shared/protocol.js';

/** What the model was told about one tool call: the tool's result, or why it has none. */
export type ToolCallOutcome = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/**
 * A tool call the engine handled (ran, refused or had denied): the model's call and its outcome.
 * A call the chat ended before (a cancel mid-run, the round limit) is not among them.
 */
export interface ChatToolCall {
  /** The upstream's id of the call. */
  id: string;
  /** The tool's name. */
  name: string;
  /** The arguments as the model wrote them (JSON text, unparsed). */
  arguments: string;
  /** What the model was told: the result, or the error (`denied`, `invalid_arguments`, `tool_timeout`, a `ToolError`'s code, …). */
  outcome: ToolCallOutcome;
}

/**
 * A generation as it ended, for the lifecycle hooks: everything the model said over every turn,
 * the usage the upstream reported, the `done` reason, and the error before it when there was one.
 */
export interface ChatSummary {
  streamId: string;
  subject: string | undefined;
  /** The text of every model turn, joined, as the client saw it in token frames (a cut turn's part included). */
  text: string;
  /** The reasoning of every turn, joined; absent when the model streamed none. */
  reasoning?: string;
  /** Tokens of every turn added up; undefined when the upstream reported none. */
  usage: Usage | undefined;
  reason: DoneReason;
  toolCalls: ChatToolCall[];
  /** The error the stream ended with (its `error` frame); set exactly when `reason` is `error`. */
  error?: TokenwireError;
}
