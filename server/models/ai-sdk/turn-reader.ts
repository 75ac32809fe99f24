import type { LanguageModelV4FinishReason, LanguageModelV4StreamPart, LanguageModelV4Usage, SharedV4ProviderOptions } from '@ai-sdk/provider';
import { TokenwireError } from '../../../shared/errors.js';
import type { Usage } from '../../../shared/protocol.js';
import type { FinishReason, ModelEvent, ProviderData } from '../provider.js';
import { AI_SDK_KEY, mergeOptions, type TurnMetadata } from './provider-data.js';
import { toUpstreamError } from './upstream-error.js';

/**
 * The AI SDK's unified finish reason as tokenwire's. `other` (the provider said something the
 * SDK has no word for) counts as `stop`: the answer is on the wire and any tool calls still
 * run. `error` and `interrupted` (the body ended without a completion signal) are failures,
 * as a stream without a finish reason is for the openai adapter.
 */
export function toFinishReason(reason: LanguageModelV4FinishReason): FinishReason {
  switch (reason.unified) {
    case 'stop':
    case 'other':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    case 'interrupted':
      throw new TokenwireError('upstream_error', 'The model service ended the answer before it was complete.');
    default:
      throw new TokenwireError('upstream_error', 'The model service ended the answer with an error.');
  }
}

const count = (n: number | undefined) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined);

/** The AI SDK's usage as tokenwire's, or nothing when the provider reported no totals. */
export function toUsage(usage: LanguageModelV4Usage | undefined): Usage | undefined {
  const prompt = count(usage?.inputTokens?.total);
  const completion = count(usage?.outputTokens?.total);
  if (prompt === undefined && completion === undefined) return undefined;
  const reasoning = count(usage?.outputTokens?.reasoning);
  return {
    promptTokens: prompt ?? 0,
    completionTokens: completion ?? 0,
    totalTokens: (prompt ?? 0) + (completion ?? 0),
    ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
  };
}

/**
 * Reads one turn's stream parts into tokenwire's events, and keeps what the parts'
 * `providerMetadata` must give back on the next request (see `TurnMetadata`).
 */
export class TurnReader {
  private reasoning: Map<string, { text: string; providerOptions?: SharedV4ProviderOptions | undefined }> | undefined;
  private textOptions: SharedV4ProviderOptions | undefined;
  private toolOptions: Record<string, SharedV4ProviderOptions> | undefined;
  private calls = 0;
  /** The `finish` part, mapped; set once the model said how the turn ended. */
  finish: Extract<ModelEvent, { type: 'finish' }> | undefined;

  /** The event a part makes, if any. @throws TokenwireError for an `error` part. */
  read(part: LanguageModelV4StreamPart): ModelEvent | undefined {
    switch (part.type) {
      case 'text-delta':
        if (part.providerMetadata) this.textOptions = mergeOptions(this.textOptions, part.providerMetadata);
        return part.delta ? { type: 'text', text: part.delta } : undefined;
      case 'text-start':
      case 'text-end':
        if (part.providerMetadata) this.textOptions = mergeOptions(this.textOptions, part.providerMetadata);
        return undefined;
      case 'reasoning-start':
      case 'reasoning-delta':
      case 'reasoning-end': {
        const reasoning = (this.reasoning ??= new Map());
        let entry = reasoning.get(part.id);
        if (!entry) reasoning.set(part.id, (entry = { text: '' }));
        if (part.providerMetadata) entry.providerOptions = mergeOptions(entry.providerOptions, part.providerMetadata);
        if (part.type !== 'reasoning-delta' || !part.delta) return undefined;
        entry.text += part.delta;
        return { type: 'reasoning', text: part.delta };
      }
      case 'tool-input-start':
      case 'tool-input-end':
        if (part.providerMetadata) this.keepToolOptions(part.id, part.providerMetadata);
        return undefined;
      case 'tool-call':
        // The whole call is the input the spec names; input deltas before it are a preview
        // (possibly text-encoded, possibly repaired at the end, as Anthropic's empty input
        // becomes `{}`), and the engine shows a call only once it is whole. A call the
        // provider runs itself is the provider's, not a tool of this chat.
        if (part.providerExecuted) return undefined;
        if (part.providerMetadata) this.keepToolOptions(part.toolCallId, part.providerMetadata);
        return { type: 'tool_call_delta', index: this.calls++, id: part.toolCallId, name: part.toolName, argumentsDelta: part.input };
      case 'finish': {
        const usage = toUsage(part.usage);
        this.finish = { type: 'finish', reason: toFinishReason(part.finishReason), ...(usage ? { usage } : {}) };
        return undefined;
      }
      case 'error':
        throw toUpstreamError(part.error);
      default:
        return undefined;
    }
  }

  private keepToolOptions(id: string, metadata: SharedV4ProviderOptions): void {
    const calls = (this.toolOptions ??= {});
    calls[id] = mergeOptions(calls[id], metadata)!;
  }

  /** What the next request needs back, when any part carried metadata. */
  providerData(): ProviderData | undefined {
    const meta: TurnMetadata = {};
    const reasoning = this.reasoning ? [...this.reasoning.values()] : [];
    if (reasoning.some((part) => part.providerOptions)) {
      meta.reasoning = reasoning.map(({ text, providerOptions }) => ({ text, ...(providerOptions ? { providerOptions } : {}) }));
    }
    if (this.textOptions) meta.text = this.textOptions;
    if (this.toolOptions) meta.toolCalls = this.toolOptions;
    return Object.keys(meta).length ? { [AI_SDK_KEY]: meta } : undefined;
  }
}
