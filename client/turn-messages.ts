import { fitText as clamp } from '../shared/fit-text.js';
import { LIMITS, type ChatMessage, type ServerFrameOf } from '../shared/protocol.js';

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;
type ToolMessage = Extract<ChatMessage, { role: 'tool' }>;

/** Collects a stream's frames into the messages its answer adds to the conversation. */
export interface TurnRecorder {
  token(text: string): void;
  reasoning(text: string): void;
  toolCall(frame: ServerFrameOf<'tool_call'>): void;
  toolResult(frame: ServerFrameOf<'tool_result'>): void;
  /** The messages so far, oldest first (a new array each call). */
  messages(): ChatMessage[];
}

interface Step {
  text: string;
  reasoning: string;
  calls: NonNullable<AssistantMessage['toolCalls']>;
  results: ToolMessage[];
}

const newStep = (): Step => ({ text: '', reasoning: '', calls: [], results: [] });

/**
 * What the model is told of a tool's outcome: the `tool_result` frame without its envelope,
 * which is the outcome the server's own tool round sent the model (`{"ok":true,"result":…}`,
 * `{"ok":false,"error":{…}}`, with `edited`, `args`, `denial` when a person edited or refused),
 * so a later turn reads the same.
 */
const outcomeText = (frame: ServerFrameOf<'tool_result'>): string => {
  const { type: _type, streamId: _stream, seq: _seq, callId: _call, ...outcome } = frame;
  return JSON.stringify(outcome);
};

/**
 * Turns a stream's frames into conversation messages, one model step at a time: an assistant
 * message with the step's text, reasoning and tool calls, then one `tool` message per answered
 * call; text after a step's results starts the next step. A call without a result (the
 * stream ended while it waited) is left out, and so is a result without its call (a call the
 * server refused before showing it): an upstream refuses either half alone. A text longer
 * than its `LIMITS` is cut to fit, so the next request is never refused for it.
 */
export function createTurnRecorder(): TurnRecorder {
  const done: Step[] = [];
  let step = newStep();
  /** Text or reasoning after results closes the step: the model is answering them. */
  const open = () => {
    if (step.results.length === 0) return step;
    done.push(step);
    return (step = newStep());
  };
  const toMessages = (s: Step): ChatMessage[] => {
    const answered = new Set(s.results.map((r) => r.toolCallId));
    const calls = s.calls.filter((c) => answered.has(c.id));
    const assistant: AssistantMessage = { role: 'assistant', content: clamp(s.text, LIMITS.messageChars) };
    if (calls.length) assistant.toolCalls = calls;
    if (s.reasoning) assistant.reasoning = clamp(s.reasoning, LIMITS.reasoningChars);
    // An assistant message with neither text nor calls says nothing, and some upstreams refuse it.
    return [...(s.text || calls.length ? [assistant] : []), ...s.results];
  };
  return {
    token(text) {
      open().text += text;
    },
    reasoning(text) {
      open().reasoning += text;
    },
    toolCall(frame) {
      open().calls.push({ id: frame.callId, name: frame.name, arguments: JSON.stringify(frame.args) });
    },
    toolResult(frame) {
      // Results of one step come together; one for a call of this step only.
      if (!step.calls.some((c) => c.id === frame.callId)) return;
      step.results.push({ role: 'tool', toolCallId: frame.callId, content: clamp(outcomeText(frame), LIMITS.messageChars) });
    },
    messages: () => [...done, step].flatMap(toMessages),
  };
}
