import { z } from 'zod';
import { fitText } from '../../../shared/fit-text.js';
import { LIMITS, type ChatMessage, type MessageToolCall } from '../../../shared/protocol.js';

// The parts of an AI SDK UI message (ai v5 to v7, `UIMessagePart`) that reach the model; any
// other part (files, sources, data, custom) passes unread.
const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ReasoningPart = z.object({ type: z.literal('reasoning'), text: z.string() });
const StepStartPart = z.object({ type: z.literal('step-start') });
/** A `tool-<name>` or `dynamic-tool` part (`UIToolInvocation`): its call, and its outcome once it has one. */
const ToolPart = z.object({
  type: z.string().regex(/^(tool-.+|dynamic-tool)$/),
  toolName: z.string().optional(),
  toolCallId: z.string(),
  state: z.string(),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  errorText: z.string().optional(),
  approval: z.object({ reason: z.string().optional() }).loose().optional(),
});
type ToolPart = z.infer<typeof ToolPart>;

/** A UI message as far as this mapping reads it. */
export interface UiMessageParts {
  role: 'system' | 'user' | 'assistant';
  parts: { type: string }[];
}

/**
 * A tool part's outcome in the words tokenwire's own tool rounds tell the model
 * (`{"ok":true,"result":…}`, `{"ok":false,"error":{code,message}}`); undefined while it has none.
 */
function outcomeOf(part: ToolPart): string | undefined {
  const text = (outcome: unknown) => fitText(JSON.stringify(outcome), LIMITS.messageChars);
  switch (part.state) {
    case 'output-available':
      return text({ ok: true, result: part.output ?? null });
    case 'output-error':
      return text({ ok: false, error: { code: 'tool_failed', message: part.errorText ?? 'The tool failed.' } });
    case 'output-denied': {
      const reason = part.approval?.reason;
      return text({ ok: false, error: { code: 'denied', message: `The user denied this call${reason ? `: ${reason}` : ''}.` } });
    }
    default:
      return undefined;
  }
}

interface Step {
  text: string;
  reasoning: string;
  calls: MessageToolCall[];
  results: ChatMessage[];
}

/** A step's messages: the assistant's (when it said or called anything), then its tool results. */
function stepMessages(step: Step): ChatMessage[] {
  const assistant: ChatMessage = { role: 'assistant', content: step.text };
  if (step.calls.length) assistant.toolCalls = step.calls;
  if (step.reasoning) assistant.reasoning = step.reasoning;
  return [...(step.text || step.calls.length ? [assistant] : []), ...step.results];
}

/**
 * One UI message as chat messages. A user or system message is its text parts joined. An
 * assistant message may hold several model steps (`step-start` parts; text after tool parts):
 * each becomes an assistant message with its text, reasoning and tool calls, then a `tool`
 * message per call that has an outcome (`output-available`, `output-error`, `output-denied`).
 * A call still without one (waiting for input or approval) is left out with its result.
 */
export function uiMessageToChat(message: UiMessageParts): ChatMessage[] {
  if (message.role !== 'assistant') {
    const text = message.parts.flatMap((part) => {
      const parsed = TextPart.safeParse(part);
      return parsed.success ? [parsed.data.text] : [];
    });
    return [{ role: message.role, content: text.join('') }];
  }
  const steps: Step[] = [];
  let step: Step = { text: '', reasoning: '', calls: [], results: [] };
  const next = () => {
    if (!step.text && !step.reasoning && !step.calls.length) return step;
    steps.push(step);
    return (step = { text: '', reasoning: '', calls: [], results: [] });
  };
  /** Text after a step's tool calls answers their results: a new step. */
  const textStep = () => (step.calls.length ? next() : step);
  for (const part of message.parts) {
    const text = TextPart.safeParse(part);
    const reasoning = text.success ? undefined : ReasoningPart.safeParse(part);
    if (text.success) textStep().text += text.data.text;
    else if (reasoning?.success) textStep().reasoning += reasoning.data.text;
    else if (StepStartPart.safeParse(part).success) next();
    else {
      const tool = ToolPart.safeParse(part);
      if (!tool.success) continue;
      const outcome = outcomeOf(tool.data);
      if (outcome === undefined) continue;
      const name = tool.data.type === 'dynamic-tool' ? (tool.data.toolName ?? '') : tool.data.type.slice('tool-'.length);
      step.calls.push({ id: tool.data.toolCallId, name, arguments: JSON.stringify(tool.data.input ?? {}) });
      step.results.push({ role: 'tool', toolCallId: tool.data.toolCallId, content: outcome });
    }
  }
  steps.push(step);
  return steps.flatMap(stepMessages);
}
