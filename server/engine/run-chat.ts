import { toTokenwireError } from '../../shared/errors.js';
import { newCallId } from '../../shared/ids.js';
import type { ChatRequest, DoneReason, Usage } from '../../shared/protocol.js';
import type { Logger } from '../log.js';
import type { FinishReason, ModelMessage, ModelProvider, ModelToolCall, ModelToolSpec } from '../models/provider.js';
import { StreamAbort, type Stream } from '../streams/hub.js';
import type { Tool } from '../tools/registry.js';
import { handleToolCall, type ToolCallDeps } from './tool-call.js';

export interface EngineDeps extends ToolCallDeps {
  provider: ModelProvider;
  maxToolRounds: number;
  log: Logger;
}

interface Turn {
  text: string;
  toolCalls: ModelToolCall[];
  finish: FinishReason;
  usage?: Usage | undefined;
}

const addUsage = (a: Usage | undefined, b: Usage | undefined): Usage | undefined =>
  !a ? b : !b ? a : {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };

/** One model request: streams its text as token frames and assembles its tool calls from deltas. */
async function modelTurn(stream: Stream, request: ChatRequest, messages: ModelMessage[], specs: ModelToolSpec[], deps: EngineDeps): Promise<Turn> {
  const options = request.options ?? {};
  const calls = new Map<number, ModelToolCall>();
  const turn: Turn = { text: '', toolCalls: [], finish: 'stop' };
  const events = deps.provider.stream({
    messages,
    tools: specs,
    signal: stream.signal,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    ...(options.simulate !== undefined ? { simulate: options.simulate } : {}),
  });
  for await (const event of events) {
    if (stream.signal.aborted) {
      // Already produced (and billed) upstream, but nobody will read it.
      if (event.type === 'text') deps.metrics.tokensAfterDisconnect.inc();
      throw stream.signal.reason;
    }
    if (event.type === 'text') {
      deps.metrics.tokens.inc();
      turn.text += event.text;
      stream.append({ type: 'token', text: event.text });
    } else if (event.type === 'tool_call_delta') {
      const call = calls.get(event.index) ?? { id: '', name: '', arguments: '' };
      if (event.id) call.id = event.id;
      if (event.name) call.name += event.name;
      if (event.argumentsDelta) call.arguments += event.argumentsDelta;
      calls.set(event.index, call);
    } else {
      turn.finish = event.reason;
      turn.usage = event.usage;
    }
  }
  // Some OpenAI-compatible servers omit the id; the tool message must still name its call.
  turn.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => (c.id ? c : { ...c, id: newCallId() }));
  return turn;
}

/**
 * Runs one chat to its end and writes it into the stream: model turns, tool calls with their
 * approval gate, then exactly one `done`. Never throws: failures become an `error` frame and
 * `done` with reason `error`; an abort becomes `done` with reason `cancelled` (or, on
 * shutdown and for slow consumers, an error first).
 */
export async function runChat(stream: Stream, request: ChatRequest, selected: { tools: Tool[]; specs: ModelToolSpec[] }, deps: EngineDeps): Promise<void> {
  const messages: ModelMessage[] = request.messages.map((m) => ({ role: m.role, content: m.content }));
  let usage: Usage | undefined;
  const done = (reason: DoneReason) => stream.append({ type: 'done', reason, ...(usage ? { usage } : {}) });
  try {
    // `toolRounds` counts rounds whose tools ran: MAX_TOOL_ROUNDS=1 allows exactly one.
    for (let toolRounds = 0; ; toolRounds++) {
      const turn = await modelTurn(stream, request, messages, selected.specs, deps);
      usage = addUsage(usage, turn.usage);
      if (turn.toolCalls.length === 0) {
        done(turn.finish === 'tool_calls' ? 'stop' : turn.finish);
        return;
      }
      if (toolRounds >= deps.maxToolRounds) {
        done('tool_rounds');
        return;
      }
      messages.push({ role: 'assistant', content: turn.text, toolCalls: turn.toolCalls });
      for (const call of turn.toolCalls) {
        const outcome = await handleToolCall(stream, call, selected.tools, deps);
        messages.push({ role: 'tool', toolCallId: call.id, content: JSON.stringify(outcome) });
      }
    }
  } catch (thrown) {
    if (stream.signal.aborted) {
      const cause = stream.signal.reason instanceof StreamAbort ? stream.signal.reason.abortCause : 'cancelled';
      deps.metrics.upstreamAborts.inc({ cause });
      if (stream.abortedAt !== undefined) deps.metrics.abortLatency.observe({ cause }, (performance.now() - stream.abortedAt) / 1000);
      if (cause === 'shutdown' || cause === 'slow_consumer') {
        const error = toTokenwireError(undefined, cause === 'shutdown' ? 'server_shutdown' : 'slow_consumer');
        stream.append({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
        done('error');
      } else {
        done('cancelled');
      }
      return;
    }
    const error = toTokenwireError(thrown);
    deps.log.warn({ err: error.cause ?? error, streamId: stream.id, code: error.code }, 'stream failed');
    stream.append({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
    done('error');
  }
}
