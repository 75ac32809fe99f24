import OpenAI, {
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  RateLimitError,
} from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { TokenwireError } from '../../shared/errors.js';
import type { Usage } from '../../shared/protocol.js';
import { withIdleTimeout } from './idle-fetch.js';
import { ECHOED_REASONING_FIELDS, readChunk, toFinishReason, type EchoedReasoningField } from './openai-chunk.js';
import type { ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelToolSpec, ProviderData } from './provider.js';
import { retryAfterMs, withRetries } from './upstream-retry.js';

export interface OpenAIProviderOptions {
  apiKey: string;
  baseURL?: string | undefined;
  model?: string | undefined;
  /** The SDK's timeout: connecting and waiting for the response head, per attempt. */
  timeoutMs: number;
  /** Longest silence between body bytes before `upstream_timeout`. */
  idleTimeoutMs: number;
  /** Retries before the first byte (429, 5xx, no connection). */
  maxRetries: number;
  /** Longest Retry-After tokenwire waits for; beyond it `upstream_rate_limited` at once. */
  maxRetryWaitMs: number;
}

/**
 * This adapter's part of `ProviderData`: the reasoning field the upstream streamed and needs
 * back on the assistant message (see `ECHOED_REASONING_FIELDS`). Only this file reads it.
 */
interface OpenAIProviderData {
  reasoningField?: EchoedReasoningField;
}

const providerDataOf = (field: EchoedReasoningField): ProviderData => ({ openai: { reasoningField: field } satisfies OpenAIProviderData });

/** The reasoning field an assistant message must carry back, as this adapter marked it; none for anything else. */
function echoedField(data: ProviderData | undefined): EchoedReasoningField | undefined {
  const mine = data?.openai;
  if (typeof mine !== 'object' || mine === null) return undefined;
  const field = (mine as Record<string, unknown>).reasoningField;
  return ECHOED_REASONING_FIELDS.find((known) => known === field);
}

const toOpenAIMessage = (message: ModelMessage): ChatCompletionMessageParam => {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant': {
      // Only a field the upstream itself streamed goes back: another server may refuse it.
      const field = echoedField(message.providerData);
      const echoed = field ? { [field]: message.reasoning ?? '' } : {};
      return message.toolCalls?.length
        ? {
            role: 'assistant',
            content: message.content || null,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
            ...echoed,
          }
        : { role: 'assistant', content: message.content, ...echoed };
    }
    default:
      return { role: message.role, content: message.content };
  }
};

const toOpenAITool = (tool: ModelToolSpec): ChatCompletionTool => ({
  type: 'function',
  function: { name: tool.name, description: tool.description, parameters: tool.parameters },
});

/** Maps the SDK's errors onto our codes; an abort passes through untouched for the engine. */
function toUpstreamError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || error instanceof APIUserAbortError || error instanceof TokenwireError) return error;
  if (error instanceof RateLimitError) {
    const wait = retryAfterMs(error.headers);
    const message = wait === undefined ? undefined : `The model service is rate limiting; it asked to wait ${wait} ms.`;
    return new TokenwireError('upstream_rate_limited', message, { cause: error });
  }
  if (error instanceof APIConnectionTimeoutError) return new TokenwireError('upstream_timeout', undefined, { cause: error });
  if (error instanceof APIError && typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    return new TokenwireError('upstream_rejected', undefined, { cause: error });
  }
  return new TokenwireError('upstream_error', undefined, { cause: error });
}

/** `finish_reason` as a word for the wire: the upstream's text, only if it looks like one. */
const quoted = (raw: string) => (/^[\w-]{1,40}$/.test(raw) ? ` "${raw}"` : '');

/**
 * Streams chat completions through the openai SDK from OpenAI or any compatible server
 * (vLLM, Ollama, llama.cpp, LiteLLM, Groq, OpenRouter …). Every chunk is read as untrusted
 * input (`readChunk`); the SDK does not retry (tokenwire does, bounded and abortable); a body
 * silent for `idleTimeoutMs` fails with `upstream_timeout`; the request's AbortSignal goes to
 * the SDK's fetch, so an abort closes the upstream socket in any phase.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions): ModelProvider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    timeout: options.timeoutMs,
    maxRetries: 0,
    fetch: withIdleTimeout(globalThis.fetch, options.idleTimeoutMs),
  });
  const defaultModel = options.model ?? 'gpt-4o-mini';
  const retry = { maxRetries: options.maxRetries, maxWaitMs: options.maxRetryWaitMs };

  async function* stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    const { signal } = request;
    let finish: string | undefined;
    let usage: Usage | undefined;
    let echoMarked = false;
    try {
      const completion = await withRetries(
        () =>
          client.chat.completions.create(
            {
              model: request.model ?? defaultModel,
              messages: request.messages.map(toOpenAIMessage),
              stream: true,
              stream_options: { include_usage: true },
              ...(request.tools.length ? { tools: request.tools.map(toOpenAITool) } : {}),
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
              ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
            },
            { signal },
          ),
        retry,
        signal,
      );
      for await (const chunk of completion as AsyncIterable<unknown>) {
        const reading = readChunk(chunk);
        if (reading.usage) usage = reading.usage;
        yield* reading.events;
        if (reading.echoReasoningAs && !echoMarked) {
          echoMarked = true;
          yield { type: 'provider_data', data: providerDataOf(reading.echoReasoningAs) };
        }
        if (reading.finishReason) finish = reading.finishReason;
      }
    } catch (error) {
      // A finish reason ends the answer: a reset, a stall or garbage after it (in place of the
      // usage chunk or `[DONE]`) loses nothing the user reads, so the answer stands, with the
      // usage if it came.
      if (finish === undefined || signal.aborted) throw toUpstreamError(error, signal);
    }
    // The SDK ends quietly on an abort: the engine reads the signal.
    if (signal.aborted) throw signal.reason;
    // The body ended ([DONE] or not) without saying how the answer ended: not a normal stop.
    if (finish === undefined) throw new TokenwireError('upstream_error', 'The model service ended the answer without a finish reason.');
    const reason = toFinishReason(finish);
    if (!reason) throw new TokenwireError('upstream_error', `The model service ended the answer with an unknown finish reason${quoted(finish)}.`);
    yield { type: 'finish', reason, ...(usage ? { usage } : {}) };
  }

  return { name: 'openai', defaultModel, stream };
}
