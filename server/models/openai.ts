import OpenAI, {
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  RateLimitError,
} from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { TokenwireError } from '../../shared/errors.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelToolSpec } from './provider.js';

export interface OpenAIProviderOptions {
  apiKey: string;
  baseURL?: string | undefined;
  model?: string | undefined;
  timeoutMs: number;
  maxRetries: number;
}

const toOpenAIMessage = (message: ModelMessage): ChatCompletionMessageParam => {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant':
      return message.toolCalls?.length
        ? {
            role: 'assistant',
            content: message.content || null,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          }
        : { role: 'assistant', content: message.content };
    default:
      return { role: message.role, content: message.content };
  }
};

const toOpenAITool = (tool: ModelToolSpec): ChatCompletionTool => ({
  type: 'function',
  function: { name: tool.name, description: tool.description, parameters: tool.parameters },
});

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

/** Maps the SDK's errors onto our codes; an abort passes through untouched for the engine. */
function toUpstreamError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || error instanceof APIUserAbortError) return error;
  if (error instanceof RateLimitError) return new TokenwireError('upstream_rate_limited', undefined, { cause: error });
  if (error instanceof APIConnectionTimeoutError) return new TokenwireError('upstream_timeout', undefined, { cause: error });
  if (error instanceof APIError && typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    return new TokenwireError('upstream_rejected', undefined, { cause: error });
  }
  return new TokenwireError('upstream_error', undefined, { cause: error });
}

/**
 * Streams chat completions through the openai SDK from OpenAI or any compatible server
 * (vLLM, Ollama, llama.cpp, LiteLLM). The request's AbortSignal goes to the SDK's fetch, so an
 * abort closes the upstream socket.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions): ModelProvider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
  });
  const defaultModel = options.model ?? 'gpt-4o-mini';

  async function* stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    const { signal } = request;
    let finish: FinishReason = 'stop';
    let usage: Extract<ModelEvent, { type: 'finish' }>['usage'];
    try {
      const completion = await client.chat.completions.create(
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
      );
      for await (const chunk of completion) {
        if (chunk.usage) {
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
            totalTokens: chunk.usage.total_tokens,
          };
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) yield { type: 'text', text: delta.content };
        for (const call of delta?.tool_calls ?? []) {
          yield {
            type: 'tool_call_delta',
            index: call.index,
            ...(call.id ? { id: call.id } : {}),
            ...(call.function?.name ? { name: call.function.name } : {}),
            ...(call.function?.arguments ? { argumentsDelta: call.function.arguments } : {}),
          };
        }
        if (choice.finish_reason) finish = FINISH[choice.finish_reason] ?? 'stop';
      }
    } catch (error) {
      throw toUpstreamError(error, signal);
    }
    yield { type: 'finish', reason: finish, ...(usage ? { usage } : {}) };
  }

  return { name: 'openai', defaultModel, stream };
}
