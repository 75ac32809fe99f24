import type { TokenwireError } from '../../shared/errors.js';
import type { ChatMessage, ChatOptions, DoneReason, Transport, Usage } from '../../shared/protocol.js';
import type { ChatToolCall } from '../engine/chat-summary.js';

export type { ChatToolCall, ToolCallOutcome } from '../engine/chat-summary.js';

/** What `prepareRequest` is given: the client's request as it arrived (validated), and who sent it. */
export interface PrepareRequestInput {
  /** The client's messages, oldest first, system messages included. */
  messages: readonly ChatMessage[];
  /** The authenticated subject; undefined for anonymous use. */
  subject: string | undefined;
  /** The client's `options` (`{}` when it sent none), `model` included. */
  options: Readonly<ChatOptions>;
  /** The transport the chat streams over (`sse` also for the AI SDK and AG-UI routes). */
  transport: Transport;
  /** The tool names the client asked for (`[]` when none). */
  tools: readonly string[];
}

/**
 * What `prepareRequest` decides; every field optional, an absent one keeps the client's.
 * - `system`: the system prompt, prepended as the first message. The client's own `system`
 *   messages are then removed, unless `messages` is also returned (those are used as they are).
 * - `messages`: the conversation to send instead of the client's (same shape and per-message
 *   rules as a client's; their count is not limited).
 * - `model`: the model to use; the server's choice is never checked against `models`.
 * - `tools`: the tools this chat offers the model, replacing the client's `tools`; a client that
 *   asked for a tool outside them is answered `unknown_tool`, as if it did not exist. Every name
 *   must be one of the instance's `tools` (else the start fails `internal`, logged).
 * - `options`: merged over the client's options key by key (e.g. a lower `maxTokens`); a
 *   `model` here counts as the server's choice, like `model` above.
 */
export interface PreparedRequest {
  /** The conversation to run instead of the client's, used as it is. */
  messages?: ChatMessage[];
  /** The system prompt, prepended; the client's system messages go unless `messages` is set. */
  system?: string;
  /** The model to run, whatever the client named; not checked against `models`. */
  model?: string;
  /** The tools the model is offered; a client asking for another gets `unknown_tool`. */
  tools?: string[];
  /** Merged over the client's options, key by key. */
  options?: ChatOptions;
}

/**
 * Decides a chat on the server before it starts: runs once per start request, after
 * authentication and before the start is admitted (no stream, no per-client slot exists yet);
 * with an idempotency key before the key is looked up, so a repeat runs it too and, unless it
 * refuses, gets the key's earlier stream as it was decided then. A `TokenwireError`
 * it throws reaches the client with its code; anything else is logged and answered `internal`.
 * Returning nothing keeps the client's request.
 */
export type PrepareRequest = (input: PrepareRequestInput) => PreparedRequest | void | Promise<PreparedRequest | void>;

/** What `onFinish` is told when a generation ended, whatever the reason. */
export interface FinishEvent {
  /** The stream's id, as in its frames. */
  streamId: string;
  /** The authenticated subject that started the stream; undefined for anonymous use. */
  subject: string | undefined;
  /** Every model turn's text, joined, as the client received it (a turn cut short included). */
  text: string;
  /** Every turn's reasoning, joined; absent when the model streamed none. */
  reasoning?: string;
  /** Tokens of every turn added up, as the upstream reported them; undefined when it reported none. */
  usage: Usage | undefined;
  /** The `done` frame's reason: `stop`, `length`, `content_filter`, `tool_rounds`, `cancelled` or `error`. */
  reason: DoneReason;
  /** The tool calls the chat handled (ran, refused or denied), with their outcomes, in order. */
  toolCalls: readonly ChatToolCall[];
}

/** What `onError` is told when a generation ended with an error (its `error` frame). */
export interface StreamErrorEvent {
  /** The stream's id, as in its frames. */
  streamId: string;
  /** The authenticated subject that started the stream; undefined for anonymous use. */
  subject: string | undefined;
  /** The error as the client saw it (code, message); `cause` holds the underlying error, never sent. */
  error: TokenwireError;
}

/**
 * The server's hooks into a chat's life. `onFinish` and `onError` run after `done` is in the
 * stream's log, on the instance that ran the generation (with a Redis fleet: the owner, not
 * the instance a viewer is on); a throw or rejection is logged and never reaches the stream.
 * `tw.close()` waits for them, up to its deadline.
 */
export interface ChatHooks {
  prepareRequest?: PrepareRequest | undefined;
  /** Called once per generation, after its `done`, for every reason; after `onError` when both run. */
  onFinish?: ((event: FinishEvent) => void | Promise<void>) | undefined;
  /** Called once for a generation that ended with an error, before `onFinish`. */
  onError?: ((event: StreamErrorEvent) => void | Promise<void>) | undefined;
}
