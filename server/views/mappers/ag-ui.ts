import { EventType, type Event as AgUiEvent, type Interrupt, type TokenUsage } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { TokenwireError } from '../../../shared/errors.js';
import type { ServerFrame, ServerFrameOf } from '../../../shared/protocol.js';
import { reasoningText, type MapperState, type ProtocolMapper } from './mapper.js';

/** `reason` of the interrupt that asks for a tool approval. */
export const APPROVAL_INTERRUPT_REASON = 'tool_approval';

const encoder = new EventEncoder();

const reasoningTokensOf = (usage: object): { reasoningTokens?: number } => {
  const count = (usage as { reasoningTokens?: unknown }).reasoningTokens;
  return typeof count === 'number' ? { reasoningTokens: count } : {};
};

/** One AG-UI event as SSE, by @ag-ui/encoder, with tokenwire's seq as `id:` when given. */
export const encodeAgUiEvent = (event: AgUiEvent, id: number | undefined): string =>
  `${id !== undefined ? `id: ${id}\n` : ''}${encoder.encodeSSE(event)}`;

/**
 * Maps tokenwire frames onto AG-UI events for one run (`threadId`, `runId`): text messages,
 * reasoning, tool calls and results, and RUN_FINISHED (success, cancelled, or an interrupt for
 * an approval, with its expiry; success at a frontend tool's call, for the frontend to run) or RUN_ERROR. Message ids derive from stream id and seq, so a
 * replay of the log produces the same events.
 */
export function createAgUiMapper(run: { threadId: string; runId: string }): ProtocolMapper<AgUiEvent> {
  let state: MapperState = 'running';
  let awaiting: ServerFrameOf<'tool_call'> | undefined;
  /** Client tools' calls shown in this run (frontend tools), by id; one waits while `running` is set. */
  const clientCalls = new Map<string, ServerFrameOf<'tool_call'>>();
  let running: string | undefined;
  let text: string | undefined;
  let reasoning: string | undefined;
  let lastText: string | undefined;
  let model: string | undefined;

  const closeText = (): AgUiEvent[] => {
    if (!text) return [];
    const out: AgUiEvent[] = [{ type: EventType.TEXT_MESSAGE_END, messageId: text }];
    text = undefined;
    return out;
  };
  const closeReasoning = (): AgUiEvent[] => {
    if (!reasoning) return [];
    const out: AgUiEvent[] = [
      { type: EventType.REASONING_MESSAGE_END, messageId: reasoning },
      { type: EventType.REASONING_END, messageId: reasoning },
    ];
    reasoning = undefined;
    return out;
  };
  const openReasoning = (messageId: string): AgUiEvent[] => [
    { type: EventType.REASONING_START, messageId },
    { type: EventType.REASONING_MESSAGE_START, messageId, role: 'reasoning' },
  ];
  const end = (event: AgUiEvent): AgUiEvent[] => {
    state = 'ended';
    return [...closeText(), ...closeReasoning(), event];
  };
  const usageOf = (frame: ServerFrameOf<'done'>): TokenUsage[] | undefined =>
    frame.usage && [
      {
        ...(model ? { model } : {}),
        inputTokens: frame.usage.promptTokens,
        outputTokens: frame.usage.completionTokens,
        totalTokens: frame.usage.totalTokens,
        // Read loosely: it was added to Usage after the first protocol version.
        ...reasoningTokensOf(frame.usage),
      },
    ];

  const map = (frame: ServerFrame): AgUiEvent[] => {
    if (state === 'ended') return [];
    switch (frame.type) {
      case 'start':
        model = frame.model;
        return [];
      case 'token': {
        if (!frame.text) return []; // AG-UI refuses an empty delta
        const out = closeReasoning();
        if (!text) {
          text = lastText = `${frame.streamId}-${frame.seq}`;
          out.push({ type: EventType.TEXT_MESSAGE_START, messageId: text, role: 'assistant' });
        }
        out.push({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: text, delta: frame.text });
        return out;
      }
      case 'tool_call': {
        const out = [...closeText(), ...closeReasoning()];
        out.push(
          { type: EventType.TOOL_CALL_START, toolCallId: frame.callId, toolCallName: frame.name, ...(lastText ? { parentMessageId: lastText } : {}) },
          { type: EventType.TOOL_CALL_ARGS, toolCallId: frame.callId, delta: JSON.stringify(frame.args) },
          { type: EventType.TOOL_CALL_END, toolCallId: frame.callId },
        );
        if (frame.runsOn === 'client') clientCalls.set(frame.callId, frame);
        if (frame.approval === 'required') {
          state = 'awaiting_approval';
          awaiting = frame;
        }
        return out;
      }
      case 'tool_run': {
        // A frontend tool's call: the run ends (success) for the frontend to run it; its `tool`
        // message in the next run's input is the output.
        const call = clientCalls.get(frame.callId);
        if (call) {
          state = 'awaiting_approval';
          awaiting = call;
          running = call.callId;
        }
        return [];
      }
      case 'tool_result': {
        if (awaiting?.callId === frame.callId) {
          state = 'running';
          awaiting = undefined;
          running = undefined;
        }
        // The frontend wrote a frontend tool's result into its messages itself: not again.
        if (clientCalls.has(frame.callId)) return [];
        const content = JSON.stringify(frame.ok ? (frame.result ?? null) : { error: frame.error });
        return [{ type: EventType.TOOL_CALL_RESULT, messageId: `${frame.callId}-result`, toolCallId: frame.callId, content, role: 'tool' }];
      }
      case 'error':
        return end({ type: EventType.RUN_ERROR, message: frame.message, code: frame.code });
      case 'done': {
        if (frame.reason === 'error') return end({ type: EventType.RUN_ERROR, message: 'The run failed.', code: 'internal' });
        const usage = usageOf(frame);
        return end({
          type: EventType.RUN_FINISHED,
          ...run,
          outcome: frame.reason === 'cancelled' ? { type: 'cancelled' } : { type: 'success' },
          ...(usage ? { usage } : {}),
        });
      }
      default: {
        const delta = reasoningText(frame);
        if (!delta) return [];
        const out = closeText();
        if (!reasoning) {
          reasoning = `${(frame as { streamId: string }).streamId}-${(frame as { seq: number }).seq}`;
          out.push(...openReasoning(reasoning));
        }
        out.push({ type: EventType.REASONING_MESSAGE_CONTENT, messageId: reasoning, delta });
        return out;
      }
    }
  };

  return {
    open() {
      const out: AgUiEvent[] = [{ type: EventType.RUN_STARTED, ...run }];
      if (text) out.push({ type: EventType.TEXT_MESSAGE_START, messageId: text, role: 'assistant' });
      if (reasoning) out.push(...openReasoning(reasoning));
      return out;
    },
    map,
    get state() {
      return state;
    },
    get awaitingCallId() {
      return awaiting?.callId;
    },
    pause() {
      const call = awaiting as ServerFrameOf<'tool_call'>;
      if (running === call.callId) return end({ type: EventType.RUN_FINISHED, ...run, outcome: { type: 'success' } });
      // The run stops here; a new run whose `resume` answers this interrupt continues it.
      const interrupt: Interrupt = {
        id: call.callId,
        reason: APPROVAL_INTERRUPT_REASON,
        message: `Approve ${call.name}?`,
        toolCallId: call.callId,
        ...(call.expiresAt !== undefined ? { expiresAt: new Date(call.expiresAt).toISOString() } : {}),
        metadata: { tool: call.name, args: call.args },
      };
      return end({ type: EventType.RUN_FINISHED, ...run, outcome: { type: 'interrupt', interrupts: [interrupt] } });
    },
    fail(error: TokenwireError) {
      return end({ type: EventType.RUN_ERROR, message: error.message, code: error.code });
    },
  };
}
