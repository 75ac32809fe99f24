import type { ChatMessage } from '../../shared/protocol.js';
import type { ModelMessage, ModelToolCall } from '../models/provider.js';

/** A message that reaches the model exactly as the client sent it: no tool turn, some text. */
const passesAsIs = (message: ChatMessage): boolean =>
  message.role === 'system' || message.role === 'user' || (message.role === 'assistant' && message.toolCalls === undefined && message.content !== '');

/**
 * A chat's messages as the model's conversation: the one place the wire's `ChatMessage`
 * becomes a `ModelMessage`. A `tool` message gets its tool's name from the call it answers
 * (the request's schema checked that an earlier assistant message made that call; one that
 * answers none is left out).
 * A call no `tool` message answers is left out: chat-completions upstreams refuse a call
 * without its result. An assistant message then left with no text and no calls is dropped:
 * it tells the model nothing, and Claude-style upstreams refuse it ("all messages must have
 * non-empty content"). Without tool turns the array itself is returned (no copy per chat).
 */
export function toModelMessages(messages: readonly ChatMessage[]): ModelMessage[] {
  if (messages.every(passesAsIs)) return messages as ModelMessage[];
  const answered = new Set<string>();
  for (const message of messages) if (message.role === 'tool') answered.add(message.toolCallId);
  const names = new Map<string, string>();
  const out: ModelMessage[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      const toolName = names.get(message.toolCallId);
      // Only messages a server hook made (prepareRequest) skip the request's check; a result without its call is refused upstream.
      if (toolName !== undefined) out.push({ role: 'tool', toolCallId: message.toolCallId, toolName, content: message.content });
    } else if (message.role !== 'assistant') {
      out.push(message);
    } else {
      const toolCalls: ModelToolCall[] = (message.toolCalls ?? []).filter((call) => answered.has(call.id));
      for (const call of toolCalls) names.set(call.id, call.name);
      if (message.content === '' && toolCalls.length === 0) continue;
      const { reasoning, providerData } = message;
      out.push({
        role: 'assistant',
        content: message.content,
        ...(toolCalls.length ? { toolCalls } : {}),
        ...(reasoning !== undefined ? { reasoning } : {}),
        ...(providerData !== undefined ? { providerData } : {}),
      });
    }
  }
  return out;
}
