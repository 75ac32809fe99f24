import { toTokenwireError, type TokenwireError } from '../../shared/errors.js';
import type { ChatRequest, DoneReason, Usage } from '../../shared/protocol.js';
import type { ChatSummary, ChatToolCall } from './chat-summary.js';
import type { Logger } from '../observability/log.js';
import type { ModelMessage, ModelProvider, ModelRequest, ModelToolSpec } from '../models/provider.js';
import { StreamAbort, type Stream } from '../streams/hub.js';
import type { Tool } from '../tools/registry.js';
import { toModelMessages } from './model-messages.js';
import { handleToolCall, type ToolCallDeps } from './tool-call.js';
import { TurnSink, type Turn } from './turn-sink.js';

export interface EngineDeps extends ToolCallDeps {
  provider: ModelProvider;
  maxToolRounds: number;
  log: Logger;
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

/**
 * The model request of a turn: the conversation so far, the tools offered and the chat's
 * options. Its `signal` is the stream's, read when a provider needs it; a provider that
 * registers `onAbort` instead leaves a parked stream without an AbortSignal.
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

/**
 * Runs one chat to its end and writes it into the stream: model turns, tool calls with their
 * approval gate, then exactly one `done`. Never rejects: failures become an `error` frame and
 * `done` with reason `error`; an abort becomes `done` with reason `cancelled` (or, on
 * shutdown and for slow consumers, an error first). Resolves, after `done`, with what the
 * chat said (for the lifecycle hooks).
 */
export function runChat(stream: Stream, request: ChatRequest, selected: { tools: Tool[]; specs: ModelToolSpec[] }, deps: EngineDeps): Promise<ChatSummary> {
  const chat = new ChatRun(stream, request, selected, deps);
  // The first turn is chained, not awaited: a stream parked before its first token
  // holds the chat's state and the model's promise, not a suspended async function (its
  // register file, its await's closures). Tool rounds run in an async function.
  try {
    return chat.modelTurn().then(chat.afterFirstTurn.bind(chat), chat.fail.bind(chat)).then(chat.summary.bind(chat));
  } catch (thrown) {
    chat.fail(thrown);
    return Promise.resolve(chat.summary());
  }
}

const NO_TOOLS: { tools: Tool[]; specs: ModelToolSpec[] } = { tools: [], specs: [] };

/** One chat's state between its model turns. */
class ChatRun {
  /** The request's messages are the conversation until a tool round adds to it (then a copy). */
  private messages: ModelMessage[];
  private copied = false;
  // What the chat needs of its request and tools, not the objects themselves: a parked
  // stream keeps no request object, and a chat without tools shares one empty selection.
  private readonly options: ChatRequest['options'];
  private readonly selected: { tools: Tool[]; specs: ModelToolSpec[] };
  private usage: Usage | undefined = undefined;
  private sink: TurnSink | undefined = undefined;
  /** Rounds whose tools ran: MAX_TOOL_ROUNDS=1 allows exactly one. */
  private toolRounds = 0;
  // What ended turns said, for the summary; the current turn's part is still in its sink.
  private text = '';
  private reasoning: string | undefined = undefined;
  private calls: ChatToolCall[] | undefined = undefined;
  private reason: DoneReason = 'error';
  private error: TokenwireError | undefined = undefined;

  constructor(
    private readonly stream: Stream,
    request: ChatRequest,
    selected: { tools: Tool[]; specs: ModelToolSpec[] },
    private readonly deps: EngineDeps,
  ) {
    this.messages = toModelMessages(request.messages);
    this.options = request.options;
    this.selected = selected.tools.length || selected.specs.length ? selected : NO_TOOLS;
  }

  /** Asks the model for the next turn; its text goes into the stream as it comes. */
  modelTurn(): Promise<void> {
    const { stream, deps } = this;
    const sink = (this.sink = new TurnSink(stream));
    const modelRequest = new TurnRequest(stream, this.messages, this.selected.specs, this.options);
    // The per-token path: no event object, promise or metric call per token; the provider
    // stops on the stream's abort itself. Its tokens are counted when the turn settles.
    if (deps.provider.push) return deps.provider.push(modelRequest, sink);
    return pullTurn(stream, modelRequest, sink, deps);
  }

  afterFirstTurn(): Promise<void> | undefined {
    try {
      const turn = this.turnEnded();
      return turn && this.runToolRounds(turn);
    } catch (thrown) {
      this.fail(thrown);
      return undefined;
    }
  }

  /** Tool rounds, each followed by a model turn, until a turn ends the chat. */
  private async runToolRounds(first: Turn): Promise<void> {
    const { stream, selected, deps } = this;
    try {
      for (let turn: Turn | undefined = first; turn; turn = this.turnEnded()) {
        if (!this.copied) {
          this.messages = [...this.messages];
          this.copied = true;
        }
        // Reasoning and provider data go back with the tool calls: some upstreams refuse the
        // next request without them (DeepSeek's reasoning_content inside a tool loop).
        const { text: content, toolCalls, reasoning, providerData } = turn;
        this.messages.push({ role: 'assistant', content, toolCalls, ...(reasoning !== undefined ? { reasoning } : {}), ...(providerData ? { providerData } : {}) });
        for (const call of turn.toolCalls) {
          const outcome = await handleToolCall(stream, call, selected.tools, deps);
          (this.calls ??= []).push({ id: call.id, name: call.name, arguments: call.arguments, outcome });
          this.messages.push({ role: 'tool', toolCallId: call.id, toolName: call.name, content: JSON.stringify(outcome) });
        }
        this.toolRounds++;
        await this.modelTurn();
      }
    } catch (thrown) {
      this.fail(thrown);
    }
  }

  /** A pushing provider's tokens of the turn, into the process's tally. */
  private countTokens(): void {
    if (!this.deps.provider.push || !this.sink) return;
    this.deps.metrics.tally.tokens += this.sink.tokens;
    this.sink.tokens = 0;
  }

  /** The turn that just ended, if the chat goes on with its tool calls; else the chat's `done` is appended. */
  private turnEnded(): Turn | undefined {
    this.countTokens();
    const { stream, deps } = this;
    const turn = (this.sink as TurnSink).turn();
    this.sink = undefined;
    this.text += turn.text;
    if (turn.reasoning !== undefined) this.reasoning = (this.reasoning ?? '') + turn.reasoning;
    this.usage = addUsage(this.usage, turn.usage);
    // A turn cut short ends the stream with that reason: its tool calls may be partial, and
    // running them would start another paid turn.
    if (turn.finish === 'length' || turn.finish === 'content_filter') this.end(turn.finish);
    else if (turn.toolCalls.length === 0) this.end(turn.finish === 'tool_calls' ? 'stop' : turn.finish);
    else if (this.toolRounds >= deps.maxToolRounds) this.end('tool_rounds');
    else return turn;
    return undefined;
  }

  /** Appends the stream's one `done`, with the usage of every turn so far; its reason is kept for the summary. */
  private end(reason: DoneReason): void {
    this.reason = reason;
    this.stream.append({ type: 'done', reason, ...(this.usage ? { usage: this.usage } : {}) });
  }

  /** What the chat said and how it ended; a turn cut short counts with what it said. */
  summary(): ChatSummary {
    const cut = this.sink?.said();
    const reasoning = cut?.reasoning !== undefined ? (this.reasoning ?? '') + cut.reasoning : this.reasoning;
    return {
      streamId: this.stream.id,
      subject: this.stream.subject,
      text: cut ? this.text + cut.text : this.text,
      ...(reasoning !== undefined ? { reasoning } : {}),
      usage: this.usage,
      reason: this.reason,
      toolCalls: this.calls ?? [],
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** The last frames of a chat that failed or was aborted. */
  fail(thrown: unknown): void {
    this.countTokens();
    const { stream, deps } = this;
    if (stream.signal.aborted) {
      const cause = stream.signal.reason instanceof StreamAbort ? stream.signal.reason.abortCause : 'cancelled';
      deps.metrics.upstreamAborts.inc({ cause });
      if (stream.abortedAt !== undefined) deps.metrics.abortLatency.observe({ cause }, (performance.now() - stream.abortedAt) / 1000);
      if (cause === 'shutdown' || cause === 'slow_consumer' || cause === 'owner_lost' || cause === 'store_unavailable') {
        const error = (this.error = toTokenwireError(undefined, cause === 'shutdown' ? 'server_shutdown' : cause));
        stream.append({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
        this.end('error');
      } else {
        this.end('cancelled');
      }
      return;
    }
    const error = (this.error = toTokenwireError(thrown));
    deps.log.warn({ err: error.cause ?? error, streamId: stream.id, code: error.code }, 'stream failed');
    stream.append({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
    this.end('error');
  }
}
