import { z } from 'zod';
import { parseWith, type Decoded } from '../../../shared/frame-codec.js';
import { ChatOptions, ChatRequest, LIMITS } from '../../../shared/protocol.js';
import { uiMessageToChat } from './ui-message-turns.js';

const ApprovalResponded = z.object({
  state: z.literal('approval-responded'),
  approval: z.object({ id: z.string().min(1).max(LIMITS.idChars), approved: z.boolean(), reason: z.string().max(LIMITS.reasonChars).optional() }),
});

const UiMessage = z.object({
  id: z.string().max(200).optional(),
  role: z.enum(['system', 'user', 'assistant']),
  parts: z.array(z.looseObject({ type: z.string().max(200) })).max(LIMITS.messages),
});

/**
 * The body `DefaultChatTransport` posts (`id`, `messages` as UI messages, `trigger`,
 * `messageId`), plus tokenwire's `tools` and `options`, which a page adds with the
 * transport's `body` option.
 */
export const AiSdkChatBody = z.object({
  id: z.string().min(1).max(LIMITS.idChars),
  messages: z.array(UiMessage).min(1).max(LIMITS.messages),
  trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
  messageId: z.string().max(200).optional(),
  tools: ChatRequest.shape.tools,
  options: ChatOptions.optional(),
});
export type AiSdkChatBody = z.infer<typeof AiSdkChatBody>;

/** A decision the AI SDK sends back: an approval part the user answered (`addToolApprovalResponse`). */
export interface ApprovalResponse {
  callId: string;
  approved: boolean;
  reason?: string | undefined;
}

/** The answered approvals in the last message, when it is the assistant's (AI SDK 6+ approval flow). */
export function approvalResponses(body: AiSdkChatBody): ApprovalResponse[] {
  const last = body.messages.at(-1);
  if (last?.role !== 'assistant') return [];
  return last.parts.flatMap((part) => {
    const parsed = ApprovalResponded.safeParse(part);
    return parsed.success ? [{ callId: parsed.data.approval.id, approved: parsed.data.approval.approved, reason: parsed.data.approval.reason }] : [];
  });
}

const ToolOutputPart = z.union([
  z.object({ toolCallId: z.string().min(1).max(LIMITS.idChars), state: z.literal('output-available'), output: z.unknown() }),
  z.object({ toolCallId: z.string().min(1).max(LIMITS.idChars), state: z.literal('output-error'), errorText: z.string() }),
]);

/** A client tool's answer the AI SDK sends back: a tool part `addToolOutput` filled in. */
export interface ToolOutputResponse {
  callId: string;
  /** The output, or the error text (sent on as the call's error, code `tool_failed`). */
  body: { output: unknown } | { error: { code: string; message: string } };
}

/**
 * The tool parts of the last message, when it is the assistant's, that carry an output or an
 * error (`addToolOutput`): every tool's, server ones included; the caller keeps those that
 * answer a client tool's pending call.
 */
export function toolOutputResponses(body: AiSdkChatBody): ToolOutputResponse[] {
  const last = body.messages.at(-1);
  if (last?.role !== 'assistant') return [];
  return last.parts.flatMap((part) => {
    if (!part.type.startsWith('tool-') && part.type !== 'dynamic-tool') return [];
    const parsed = ToolOutputPart.safeParse(part);
    if (!parsed.success) return [];
    const { data } = parsed;
    return [
      {
        callId: data.toolCallId,
        body: data.state === 'output-available' ? { output: data.output ?? null } : { error: { code: 'tool_failed', message: data.errorText.slice(0, LIMITS.reasonChars) } },
      },
    ];
  });
}

/**
 * The chat request for a new generation: each UI message becomes chat messages
 * (`uiMessageToChat`): text, and an assistant's reasoning, tool calls and their outcomes.
 * File, source and data parts have no place in tokenwire's request.
 */
export function toChatRequest(body: AiSdkChatBody): Decoded<ChatRequest> {
  const messages = body.messages.flatMap(uiMessageToChat);
  return parseWith(ChatRequest, {
    messages,
    ...(body.tools ? { tools: body.tools } : {}),
    ...(body.options ? { options: body.options } : {}),
  });
}
