import type { UIMessageChunk } from 'ai';
import type { TokenwireError } from '../../../shared/errors.js';
import type { DoneReason, ServerFrame } from '../../../shared/protocol.js';
import { encodeSse } from '../../../shared/sse.js';
import { reasoningText, type MapperState, type ProtocolMapper } from './mapper.js';

/** Response headers of the AI SDK's UI message stream protocol (its `UI_MESSAGE_STREAM_HEADERS`). */
export const UI_MESSAGE_STREAM_HEADERS = { 'x-vercel-ai-ui-message-stream': 'v1' } as const;

/** The AI SDK ends a UI message stream with this SSE message (its `JsonToSseTransformStream`). */
export const UI_MESSAGE_STREAM_TRAILER = 'data: [DONE]\n\n';

const FINISH_REASON: Record<Exclude<DoneReason, 'cancelled'>, 'stop' | 'length' | 'content-filter' | 'error' | 'other'> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  error: 'error',
  tool_rounds: 'other',
};

/** One UI message chunk as SSE: `id: <seq>` when given, `data: <json>` (the protocol uses no `event:`). */
export const encodeUiChunk = (chunk: UIMessageChunk, id: number | undefined): string =>
  encodeSse({ ...(id !== undefined ? { id } : {}), data: JSON.stringify(chunk) });

/**
 * Maps tokenwire frames onto the AI SDK's UI message chunks for one assistant message
 * (`messageId`): text and reasoning parts, tool parts with AI SDK 6+ approval requests (and a
 * client tool's call, which ends the response for `onToolCall` to answer), steps
 * between tool rounds, and `finish` / `abort` / `error` at the end. Part ids derive from seqs,
 * so a replay of the log produces the same chunks.
 */
export function createUiMessageMapper(options: { messageId: string }): ProtocolMapper<UIMessageChunk> {
  let state: MapperState = 'running';
  let awaitingCallId: string | undefined;
  let text: string | undefined;
  let reasoning: string | undefined;
  let stepOpen = false;
  let toolsRan = false;
  const shownCalls = new Set<string>();

  const closeParts = (): UIMessageChunk[] => {
    const out: UIMessageChunk[] = [];
    if (text) out.push({ type: 'text-end', id: text });
    if (reasoning) out.push({ type: 'reasoning-end', id: reasoning });
    text = reasoning = undefined;
    return out;
  };
  /** A model turn after tool results is a new step, as `streamText` marks it. */
  const step = (): UIMessageChunk[] => {
    if (stepOpen && !toolsRan) return [];
    const out: UIMessageChunk[] = stepOpen ? [{ type: 'finish-step' }, { type: 'start-step' }] : [{ type: 'start-step' }];
    stepOpen = true;
    toolsRan = false;
    return out;
  };
  const closeStep = (): UIMessageChunk[] => {
    const out: UIMessageChunk[] = [...closeParts(), ...(stepOpen ? [{ type: 'finish-step' } as const] : [])];
    stepOpen = false;
    return out;
  };

  const map = (frame: ServerFrame): UIMessageChunk[] => {
    if (state === 'ended') return [];
    switch (frame.type) {
      case 'start':
        return [];
      case 'token': {
        if (!frame.text) return [];
        const out = step();
        if (reasoning) out.push({ type: 'reasoning-end', id: reasoning });
        reasoning = undefined;
        if (!text) {
          text = `text-${frame.seq}`;
          out.push({ type: 'text-start', id: text });
        }
        out.push({ type: 'text-delta', id: text, delta: frame.text });
        return out;
      }
      case 'tool_call': {
        const out = [...step(), ...closeParts()];
        shownCalls.add(frame.callId);
        out.push({ type: 'tool-input-available', toolCallId: frame.callId, toolName: frame.name, input: frame.args });
        if (frame.approval === 'required') {
          out.push({ type: 'tool-approval-request', approvalId: frame.callId, toolCallId: frame.callId });
          state = 'awaiting_approval';
          awaitingCallId = frame.callId;
        }
        return out;
      }
      case 'tool_run': {
        // A client tool's call: the response ends here (as at an approval), `useChat`'s
        // `onToolCall` runs it and `addToolOutput` sends the output back in the next request.
        if (shownCalls.has(frame.callId)) {
          state = 'awaiting_approval';
          awaitingCallId = frame.callId;
        }
        return [];
      }
      case 'tool_result': {
        if (awaitingCallId === frame.callId) {
          state = 'running';
          awaitingCallId = undefined;
        }
        toolsRan = true;
        // A call the engine refused before showing it (unknown tool, bad arguments) has no part
        // to attach an output to; the AI SDK would fail the whole stream on it.
        if (!shownCalls.has(frame.callId)) return [];
        if (frame.ok) return [{ type: 'tool-output-available', toolCallId: frame.callId, output: frame.result ?? null }];
        if (frame.error?.code === 'denied') return [{ type: 'tool-output-denied', toolCallId: frame.callId }];
        return [{ type: 'tool-output-error', toolCallId: frame.callId, errorText: frame.error?.message ?? 'The tool failed.' }];
      }
      case 'error':
        return [...closeParts(), { type: 'error', errorText: frame.message }];
      case 'done': {
        const out = closeStep();
        state = 'ended';
        if (frame.reason === 'cancelled') return [...out, { type: 'abort', reason: 'cancelled' }];
        return [...out, { type: 'finish', finishReason: FINISH_REASON[frame.reason] }];
      }
      default: {
        const delta = reasoningText(frame);
        if (!delta) return [];
        const out = step();
        if (text) out.push({ type: 'text-end', id: text });
        text = undefined;
        if (!reasoning) {
          reasoning = `reasoning-${(frame as { seq: number }).seq}`;
          out.push({ type: 'reasoning-start', id: reasoning });
        }
        out.push({ type: 'reasoning-delta', id: reasoning, delta });
        return out;
      }
    }
  };

  return {
    open() {
      const out: UIMessageChunk[] = [{ type: 'start', messageId: options.messageId }];
      if (stepOpen) out.push({ type: 'start-step' });
      if (text) out.push({ type: 'text-start', id: text });
      if (reasoning) out.push({ type: 'reasoning-start', id: reasoning });
      return out;
    },
    map,
    get state() {
      return state;
    },
    get awaitingCallId() {
      return awaitingCallId;
    },
    pause() {
      state = 'ended';
      // The AI SDK sends an approval back with the next request, once this response finished.
      return [...closeStep(), { type: 'finish', finishReason: 'tool-calls' }];
    },
    fail(error: TokenwireError) {
      state = 'ended';
      return [...closeParts(), { type: 'error', errorText: error.message }];
    },
  };
}
