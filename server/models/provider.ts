import type { SimulateOptions, Usage } from '../../shared/protocol.js';
import type { z } from 'zod';

/** A message in the model's conversation, including the engine's tool round trips. */
export type ModelMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ModelToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A complete tool call as the model asked for it; `arguments` is the model's raw JSON text. */
export interface ModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool as offered to the model: its name, what it does, and its parameters as JSON Schema. */
export interface ModelToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

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
  | { type: 'finish'; reason: FinishReason; usage?: Usage };

export interface ModelRequest {
  messages: ModelMessage[];
  tools: ModelToolSpec[];
  model?: string;
  temperature?: number;
  maxTokens?: number;
  simulate?: z.infer<typeof SimulateOptions>;
  /** Aborting it must end the upstream request at once (the socket closes). */
  readonly signal: AbortSignal;
  /**
   * Where a provider may instead register the one function that stops it on abort, called at
   * once if the request already is aborted (issue 14: the engine's requests make `signal` only
   * when it is read, so a parked stream holds no AbortSignal and no listener on it).
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
  readonly defaultModel: string;
  stream(request: ModelRequest): AsyncIterable<ModelEvent>;
  /**
   * The same answer pushed into `sink` (issue 14: an async iterator costs promises per token).
   * Resolves after `finish`; rejects on failure, or with the signal's reason on abort. The
   * engine uses it when a provider has it.
   */
  push?(request: ModelRequest, sink: ModelSink): Promise<void>;
}
