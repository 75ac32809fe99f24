import type { Message, RunAgentInput } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { z } from 'zod';
import { fitText } from '../../../shared/fit-text.js';
import { parseWith, type Decoded } from '../../../shared/frame-codec.js';
import { parseJson } from '../../../shared/json.js';
import { ChatOptions, ChatRequest, LIMITS, type ChatMessage } from '../../../shared/protocol.js';
import type { ApprovalResponse } from './ai-sdk-request.js';

/** What a run may pass through `forwardedProps` to tokenwire: its server tools and chat options. */
const ForwardedProps = z.object({ tools: ChatRequest.shape.tools, options: ChatOptions.optional() }).partial();

const Id = z.string().min(1).max(LIMITS.idChars);

/** Parses a `RunAgentInput` with AG-UI's own schema, ids bounded as tokenwire's; never throws. */
export function parseRunAgentInput(body: unknown): Decoded<RunAgentInput> {
  const parsed = RunAgentInputSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: issue ? `${issue.message}${issue.path.length ? ` at ${issue.path.join('.')}` : ''}` : 'invalid' };
  }
  const ids = parseWith(z.object({ threadId: Id, runId: Id }), parsed.data);
  return ids.ok ? { ok: true, value: parsed.data as RunAgentInput } : ids;
}

const textOf = (content: Message['content']): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('') : '';

/**
 * A thread's messages as chat messages: user, system (and developer) messages with their text;
 * an assistant's text and `toolCalls`, with the text of the `reasoning` messages just before it;
 * a `tool` message's text (or its `error`) answering its `toolCallId`. Activity messages have
 * no place in tokenwire's request.
 */
function toChatMessages(messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let reasoning = '';
  for (const m of messages) {
    if (m.role === 'reasoning') reasoning += m.content;
    else if (m.role === 'user' || m.role === 'system' || m.role === 'developer') out.push({ role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) });
    else if (m.role === 'tool') out.push({ role: 'tool', toolCallId: m.toolCallId, content: fitText(textOf(m.content) || (m.error ?? ''), LIMITS.messageChars) });
    else if (m.role === 'assistant') {
      const message: ChatMessage = { role: 'assistant', content: m.content ?? '' };
      if (m.toolCalls?.length) message.toolCalls = m.toolCalls.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
      if (reasoning) message.reasoning = reasoning;
      out.push(message);
    }
    if (m.role !== 'reasoning') reasoning = '';
  }
  return out;
}

/**
 * The chat request for a new run: the thread's messages (`toChatMessages`), with tokenwire's
 * server tools and options from `forwardedProps`. The run's frontend `tools` are offered when
 * `isClientTool` says the server registered them (`defineClientTool`); others are not known
 * to the server's model and are left out.
 */
export function toChatRequest(input: RunAgentInput, isClientTool: (name: string) => boolean = () => false): Decoded<ChatRequest> {
  const props = ForwardedProps.safeParse(input.forwardedProps ?? {});
  if (!props.success) return { ok: false, message: 'forwardedProps.tools and forwardedProps.options must be tokenwire chat fields' };
  const frontend = (input.tools ?? []).map((tool) => tool.name).filter(isClientTool);
  const tools = [...new Set([...(props.data.tools ?? []), ...frontend])];
  return parseWith(ChatRequest, { messages: toChatMessages(input.messages), ...props.data, ...(tools.length ? { tools } : {}) });
}

/**
 * The frontend tools' results a run sends back: the `tool` messages at the end of its
 * messages (after the assistant's calls), as outputs. Content that is JSON is sent as that
 * value, else as the text; a message with `error` is the call's error (`tool_failed`).
 */
export function toolOutputs(input: RunAgentInput): { callId: string; body: { output: unknown } | { error: { code: string; message: string } } }[] {
  const out: ReturnType<typeof toolOutputs> = [];
  for (let i = input.messages.length - 1; i >= 0; i--) {
    const message = input.messages[i] as Message;
    if (message.role !== 'tool') break;
    const text = textOf(message.content);
    const body = message.error !== undefined ? { error: { code: 'tool_failed', message: message.error.slice(0, LIMITS.reasonChars) } } : { output: jsonOrText(text) };
    out.unshift({ callId: message.toolCallId, body });
  }
  return out;
}

function jsonOrText(text: string): unknown {
  const json = parseJson(text);
  return json.ok ? json.value : text;
}

/**
 * The decisions in a run's `resume` entries: an interrupt resolved with `{ approved: true }`
 * approves its call; anything else (cancelled, or another answer) denies it.
 */
export function resumeDecisions(input: RunAgentInput): ApprovalResponse[] {
  return (input.resume ?? []).map((entry) => {
    const payload = (entry.payload ?? {}) as { approved?: unknown; reason?: unknown };
    const reason = typeof payload.reason === 'string' ? payload.reason.slice(0, LIMITS.reasonChars) : undefined;
    return { callId: entry.interruptId, approved: entry.status === 'resolved' && payload.approved === true, reason };
  });
}
