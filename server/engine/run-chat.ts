import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import type { ChatRequest, DoneReason, Usage } from '../../shared/protocol.js';
import type { Logger } from '../log.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelSink, ModelToolCall, ModelToolSpec } from '../models/provider.js';
import { StreamAbort, type Stream } from '../streams/hub.js';
import type { Tool } from '../tools/registry.js';
import { handleToolCall, type ToolCallDeps } from './tool-call.js';
import { createToolCallAssembler, type ToolCallAssembler } from './tool-call-assembler.js';

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

/** Tokens of a turn's text joined at a time (see `TurnSink.text`). */
const TEXT_CHUNK = 256;

/**
 * One model turn's sink: streams its text as token frames and assembles its tool calls from
 * deltas. A class (issue 14): a stream parked before its first token holds this one object
 * (methods on the prototype), not a suspended turn function with its closures and promises.
 */
class TurnSink implements ModelSink {
  /** Text tokens pushed so far. */
  tokens = 0;
  // The turn's text, for the assistant message of a tool round. `text += token` kept a cons
  // string per token alive for the whole turn (scavenge work, issue 14): tokens wait in an
  // array and are joined into one flat string every TEXT_CHUNK of them.
  private joined = '';
  private pending: string[] | undefined = undefined;
  private calls: ToolCallAssembler | undefined = undefined;
  private finish: Extract<ModelEvent, { type: 'finish' }> | undefined = undefined;

  constructor(private readonly stream: Stream) {}

  text(token: string): void {
    this.tokens++;
    const pending = (this.pending ??= []);
    if (pending.push(token) >= TEXT_CHUNK) {
      this.joined += pending.join('');
      pending.length = 0;
    }
    this.stream.appendToken(token);
  }

  event(event: Exclude<ModelEvent, { type: 'text' }>): void {
    if (event.type === 'reasoning') this.stream.append({ type: 'reasoning', text: event.text });
    else if (event.type === 'tool_call_delta') (this.calls ??= createToolCallAssembler()).add(event);
    else this.finish = event;
  }

  /** The turn as it ended; a provider must say how the answer ended, one that did not is never reported as a stop. */
  turn(): Turn {
    if (!this.finish) throw new TokenwireError('upstream_error', 'The model ended its answer without saying why.');
    const text = this.pending ? this.joined + this.pending.join('') : this.joined;
    return { text, toolCalls: this.calls?.calls() ?? [], finish: this.finish.reason, usage: this.finish.usage };
  }
}

/**
 * The model request of a turn: the conversation so far, the tools offered and the chat's
 * options. Its `signal` is the stream's, read when a provider needs it; a provider that
 * registers `onAbort` instead leaves a parked stream without an AbortSignal (issue 14).
 */
class TurnRequest implements ModelRequest {
  declare model?: string;
  declare temperature?: number;
  declare maxTokens?: number;
  declare simulate?: ModelRequest['simulate'];

  constructor(
    private readonly stream: Stream,
    readonly messages: ModelMessage[],
    readonly tools: ModelToolSpec[],
    options: ChatRequest['options'] = {},
  ) {
    if (options.model !== undefined) this.model = options.model;
    if (options.temperature !== undefined) this.temperature = options.temperature;
    if (options.maxTokens !== undefined) this.maxTokens = options.maxTokens;
    if (options.simulate !== undefined) this.simulate = options.simulate;
  }

  get signal(): AbortSignal {
    return this.stream.signal;
  }

  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.stream.onAbort(listener);
  }
}

/** A provider without `push`: its async iterator's events into the turn's sink. */
async function pullTurn(stream: Stream, modelRequest: ModelRequest, sink: TurnSink, deps: EngineDeps): Promise<void> {
  for await (const event of deps.provider.stream(modelRequest)) {
    if (stream.signal.aborted) {
      // Already produced (and billed) upstream, but nobody will read it.
      if (event.type === 'text' || event.type === 'reasoning') deps.metrics.tokensAfterDisconnect.inc();
      throw stream.signal.reason;
    }
    if (event.type === 'text') {
      deps.metrics.tally.tokens++;
      sink.text(event.text);
    } else {
      sink.event(event);
    }
  }
}

/** Appends the stream's one `done`, with the usage of every turn so far. */
const appendDone = (stream: Stream, reason: DoneReason, usage: Usage | undefined) =>
  stream.append({ type: 'done', reason, ...(usage ? { usage } : {}) });

/**
 * Runs one chat to its end and writes it into the stream: model turns, tool calls with their
 * approval gate, then exactly one `done`. Never throws: failures become an `error` frame and
 * `done` with reason `error`; an abort becomes `done` with reason `cancelled` (or, on
 * shutdown and for slow consumers, an error first).
 */
export async function runChat(stream: Stream, request: ChatRequest, selected: { tools: Tool[]; specs: ModelToolSpec[] }, deps: EngineDeps): Promise<void> {
  // The request's messages are the conversation until a tool round adds to it (then a copy).
  let messages: ModelMessage[] = request.messages;
  let usage: Usage | undefined;
  const { provider } = deps;
  try {
    // `toolRounds` counts rounds whose tools ran: MAX_TOOL_ROUNDS=1 allows exactly one.
    for (let toolRounds = 0; ; toolRounds++) {
      // The turn is awaited here, not in a function of its own (issue 14): a stream parked
      // before its first token holds one suspended function, its sink and the model's promise.
      const sink = new TurnSink(stream);
      const modelRequest = new TurnRequest(stream, messages, selected.specs, request.options);
      if (provider.push) {
        // The per-token path: no event object, promise or metric call per token; the provider
        // stops on the stream's signal itself.
        try {
          await provider.push(modelRequest, sink);
        } finally {
          deps.metrics.tally.tokens += sink.tokens;
        }
      } else {
        await pullTurn(stream, modelRequest, sink, deps);
      }
      const turn = sink.turn();
      usage = addUsage(usage, turn.usage);
      // A turn cut short ends the stream with that reason: its tool calls may be partial, and
      // running them would start another paid turn.
      if (turn.finish === 'length' || turn.finish === 'content_filter') {
        appendDone(stream, turn.finish, usage);
        return;
      }
      if (turn.toolCalls.length === 0) {
        appendDone(stream, turn.finish === 'tool_calls' ? 'stop' : turn.finish, usage);
        return;
      }
      if (toolRounds >= deps.maxToolRounds) {
        appendDone(stream, 'tool_rounds', usage);
        return;
      }
      if (messages === request.messages) messages = [...messages];
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
        appendDone(stream, 'error', usage);
      } else {
        appendDone(stream, 'cancelled', usage);
      }
      return;
    }
    const error = toTokenwireError(thrown);
    deps.log.warn({ err: error.cause ?? error, streamId: stream.id, code: error.code }, 'stream failed');
    stream.append({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
    appendDone(stream, 'error', usage);
  }
}
