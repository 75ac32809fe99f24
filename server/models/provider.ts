import type { SimulateOptions, Usage } from '../../shared/protocol.js';

/**
 * State a provider needs back on the assistant message it produced, opaque to everyone else: a
 * JSON object the provider adapter fills (through `provider_data` events) and reads again when
 * the message returns in a later request — DeepSeek's `reasoning_content` inside a tool loop,
 * Anthropic's thinking signatures, Gemini's thought signatures. Only the adapter that wrote it
 * reads it; the engine and the wire carry it unchanged.
 */
export type ProviderData = Record<string, unknown>;

/**
 * A message in the model's conversation, including tool round trips (the engine's own, and
 * earlier turns a client sent back). An assistant message carries text, tool calls or both,
 * with the reasoning it streamed and the provider's data; a `tool` message answers one call
 * of an earlier assistant message by its id.
 */
export type ModelMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ModelToolCall[]; reasoning?: string; providerData?: ProviderData }
  | { role: 'tool'; toolCallId: string; toolName: string; content: string };

/** A complete tool call as the model asked for it; `arguments` is the model's raw JSON text. */
export interface ModelToolCall {
  /** The upstream's id of the call; the `tool` message that answers it names it as `toolCallId`. */
  id: string;
  /** The tool's name, one of the request's `tools`. */
  name: string;
  /** The arguments as JSON text, unparsed: the engine parses and validates them against the tool's schema. */
  arguments: string;
}

/** A tool as offered to the model: its name, what it does, and its parameters as JSON Schema. */
export interface ModelToolSpec {
  /** The tool's name, as the model must call it. */
  name: string;
  /** What the tool does, for the model to decide when to call it. */
  description: string;
  /** The arguments' JSON Schema (draft 2020-12, from the tool's zod schema), without `$schema`. */
  parameters: Record<string, unknown>;
}

/**
 * How a model turn ended, in OpenAI Chat Completions' terms: `stop` (the answer is complete),
 * `length` (`maxTokens` or the context ran out), `tool_calls` (the model wants tools run and
 * another turn), `content_filter` (the upstream withheld the rest). `length` and
 * `content_filter` end the stream with that reason, even if tool calls came before.
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * What a provider yields while the model answers; a turn ends with exactly one `finish`, and a
 * provider that cannot say how the answer ended throws instead.
 */
export type ModelEvent =
  | { type: 'text'; text: string }
  /** The model's reasoning before (or between) its answer, as reasoning models stream it. */
  | { type: 'reasoning'; text: string }
  /**
   * A piece of a tool call, as the upstream sent it: `index` and `id` say which call it
   * continues, either may be missing (the engine's assembler decides).
   */
  | { type: 'tool_call_delta'; index?: number; id?: string; name?: string; argumentsDelta?: string }
  /**
   * Data the provider needs back on this turn's assistant message (see `ProviderData`); several
   * are merged key by key, a later key replacing an earlier one.
   */
  | { type: 'provider_data'; data: ProviderData }
  | { type: 'finish'; reason: FinishReason; usage?: Usage };

/**
 * One model turn to run: the conversation so far (with the engine's tool round trips), the
 * tools offered, and the chat's options. A chat with tool calls makes one request per turn.
 */
export interface ModelRequest {
  /** The conversation, oldest first: the chat's messages, then each earlier turn's tool calls and results. */
  messages: ModelMessage[];
  /** The tools the model may call this turn; empty when the chat named none. */
  tools: ModelToolSpec[];
  /** The model the chat asked for (`options.model`); absent: use `ModelProvider.defaultModel`. */
  model?: string;
  /** Sampling temperature, 0 to 2, when the chat set one; absent: the upstream's default. */
  temperature?: number;
  /** The most completion tokens for this turn, when the chat set it; a turn that reaches it finishes with `length`. */
  maxTokens?: number;
  /** The chat's `options.simulate`: only the simulated model reads it; any other provider ignores it. */
  simulate?: SimulateOptions;
  /** Aborting it must end the upstream request at once (the socket closes). */
  readonly signal: AbortSignal;
  /**
   * Where a provider may instead register the one function that stops it on abort, called at
   * once if the request already is aborted (`undefined` unregisters it). The engine's requests
   * make `signal` only when it is read, so a stream parked on this holds no AbortSignal and no
   * listener on it, which keeps an idle stream small.
   */
  onAbort?(listener: ((reason: unknown) => void) | undefined): void;
}

/** Where a provider that pushes (`ModelProvider.push`) hands its events, in order. */
export interface ModelSink {
  /** A text delta: the per-token path, without an event object or a promise per token. */
  text(text: string): void;
  /** Every other event: reasoning, tool call deltas, and the one `finish`. */
  event(event: Exclude<ModelEvent, { type: 'text' }>): void;
}

/** A source of model output: the openai SDK, or the embedded simulated model. */
export interface ModelProvider {
  /** The provider's name in logs and metrics, e.g. `openai`, `anthropic`, `simulated`. */
  readonly name: string;
  /** The model used when a chat names none; sent to the client in the `start` frame. */
  readonly defaultModel: string;
  /**
   * Runs one turn and yields its events in order, ending with exactly one `finish`. A provider
   * must stop the upstream request when `request.signal` aborts (or through `onAbort`), and
   * throw a `TokenwireError` with an `upstream_*` code on failure (`upstream_rate_limited`,
   * `upstream_timeout`, `upstream_rejected`, else `upstream_error`): anything else thrown reaches
   * the client as `internal`. Retry only before the first event: after it, text is on the wire.
   */
  stream(request: ModelRequest): AsyncIterable<ModelEvent>;
  /**
   * The same answer pushed into `sink`, optional: an async iterator costs promises per token,
   * a sink none. Resolves after `finish`; rejects on failure (as `stream` throws), or with the
   * signal's reason on abort. The engine uses it instead of `stream` when a provider has it.
   */
  push?(request: ModelRequest, sink: ModelSink): Promise<void>;
}
