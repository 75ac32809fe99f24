import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import type { ChatRequest, DoneReason, Usage } from '../../shared/protocol.js';
import type { Logger } from '../log.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelToolCall, ModelToolSpec } from '../models/provider.js';
import { StreamAbort, type Stream } from '../streams/hub.js';
import type { Tool } from '../tools/registry.js';
import { handleToolCall, type ToolCallDeps } from './tool-call.js';
import { createToolCallAssembler } from './tool-call-assembler.js';

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
    ...(a.reasoningTokens !== undefined || b.reasoningTokens !== undefined
      ? { reasoningTokens: (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0) }
      : {}),
  };

/** Tokens of a turn's text joined at a time (see `addText`). */
const TEXT_CHUNK = 256;

/** One model request: streams its text as token frames and assembles its tool calls from deltas. */
async function modelTurn(stream: Stream, request: ChatRequest, messages: ModelMessage[], specs: ModelToolSpec[], deps: EngineDeps): Promise<Turn> {
  const options = request.options ?? {};
  const calls = createToolCallAssembler();
  let finish: Extract<ModelEvent, { type: 'finish' }> | undefined;
  // The turn's text, for the assistant message of a tool round. `text += token` kept a cons
  // string per token alive for the whole turn (scavenge work, issue 14): tokens wait in an
  // array and are joined into one flat string every TEXT_CHUNK of them.
  let text = '';
  let pending: string[] = [];
  const addText = (token: string) => {
    if (pending.push(token) < TEXT_CHUNK) return;
    text += pending.join('');
    pending = [];
  };
  const modelRequest: ModelRequest = {
    messages,
    tools: specs,
    signal: stream.signal,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    ...(options.simulate !== undefined ? { simulate: options.simulate } : {}),
  };
  const onEvent = (event: Exclude<ModelEvent, { type: 'text' }>) => {
    if (event.type === 'reasoning') stream.append({ type: 'reasoning', text: event.text });
    else if (event.type === 'tool_call_delta') calls.add(event);
    else finish = event;
  };
  if (deps.provider.push) {
    // The per-token path (issue 14): no event object, promise or metric call per token; the
    // provider stops on the stream's signal itself.
    let tokens = 0;
    try {
      await deps.provider.push(modelRequest, {
        text(token) {
          tokens++;
          addText(token);
          stream.appendToken(token);
        },
        event: onEvent,
      });
    } finally {
      deps.metrics.tally.tokens += tokens;
    }
  } else {
    for await (const event of deps.provider.stream(modelRequest)) {
      if (stream.signal.aborted) {
        // Already produced (and billed) upstream, but nobody will read it.
        if (event.type === 'text' || event.type === 'reasoning') deps.metrics.tokensAfterDisconnect.inc();
        throw stream.signal.reason;
      }
      if (event.type === 'text') {
        deps.metrics.tally.tokens++;
        addText(event.text);
        stream.appendToken(event.text);
      } else {
        onEvent(event);
      }
    }
  }
  // A provider must say how the answer ended; one that did not is never reported as a stop.
  if (!finish) throw new TokenwireError('upstream_error', 'The model ended its answer without saying why.');
  return { text: text + pending.join(''), toolCalls: calls.calls(), finish: finish.reason, usage: finish.usage };
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
      // A turn cut short ends the stream with that reason: its tool calls may be partial, and
      // running them would start another paid turn.
      if (turn.finish === 'length' || turn.finish === 'content_filter') {
        done(turn.finish);
        return;
      }
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
      if (cause === 'shutdown' || cause === 'slow_consumer' || cause === 'owner_lost') {
        const error = toTokenwireError(undefined, cause === 'shutdown' ? 'server_shutdown' : cause);
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
