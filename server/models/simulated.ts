import { TokenwireError } from '../../shared/errors.js';
import { parseJson } from '../../shared/json.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelSink } from './provider.js';
import { answerLength, answerTokens } from './simulated-answers.js';
import { thinkingTokens, wordTokens } from './simulated-text.js';
import { createTokenClock, type TokenClock } from './token-clock.js';

export interface SimulatedProviderOptions {
  /** The pace unless a request asks for its own (`simulate.tokensPerSecond`). */
  tokensPerSecond: number;
  firstTokenMs: number;
  model?: string | undefined;
}

const WEATHER = /\bweather\b.*?\b(?:in|for|at)\s+([\p{L}][\p{L}\p{M} .'-]{0,60}?)\s*(?:today|tomorrow|now|right now)?\s*(?:[?!.,;]|$)/iu;
const LOCAL_TIME = /\b(?:what time is it|local time|my time ?zone)\b/i;
const CALCULATE = /\b(?:calculate|compute|what is)\s+([-+*/^%().\d\s]{3,200})/i;

type Plan =
  | { kind: 'text'; tokens: Iterable<string>; limit: number }
  | { kind: 'tool'; name: string; args: Record<string, unknown> };

/** Decides what the simulated model says next, from the conversation so far. */
function plan(request: ModelRequest): Plan {
  const { messages, tools } = request;
  const last = messages.at(-1);
  const offered = new Set(tools.map((t) => t.name));
  if (last?.role === 'tool') return { kind: 'text', tokens: wordTokens(afterTool(messages, last)), limit: Infinity };
  const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const weather = offered.has('get_weather') ? WEATHER.exec(prompt) : null;
  if (weather?.[1]) return { kind: 'tool', name: 'get_weather', args: { city: weather[1].trim() } };
  const calc = offered.has('calculate') ? CALCULATE.exec(prompt) : null;
  if (calc?.[1]) return { kind: 'tool', name: 'calculate', args: { expression: calc[1].trim() } };
  if (offered.has('get_local_time') && LOCAL_TIME.test(prompt)) return { kind: 'tool', name: 'get_local_time', args: {} };
  return { kind: 'text', tokens: answerTokens(prompt), limit: request.simulate?.tokens ?? answerLength(prompt) };
}

/** The sentence after a tool result: it names what was asked (the city) and the result. */
function afterTool(messages: ModelMessage[], result: Extract<ModelMessage, { role: 'tool' }>): string {
  const call = messages
    .flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []) : []))
    .find((c) => c.id === result.toolCallId);
  const args = safeJson(call?.arguments) as { city?: string; expression?: string } | undefined;
  const body = safeJson(result.content) as { ok?: boolean; result?: Record<string, unknown>; error?: { code?: string; message?: string } };
  const subject = args?.city ?? args?.expression ?? (call?.name === 'get_local_time' ? 'your local time' : 'that');
  if (!body?.ok) {
    // The tool's message is a sentence of its own: no second full stop after it.
    const why = (body?.error?.message ?? 'the tool did not run').replace(/[.!?\s]+$/u, '');
    if (body?.error?.code === 'denied') return `You declined the ${call?.name ?? 'tool'} call, so I could not look up ${subject}.`;
    return `I could not get an answer for ${subject}: ${why}.`;
  }
  const r = body.result ?? {};
  if (call?.name === 'get_weather') {
    // An app's own get_weather may return fewer fields than the demo's: say only what came.
    const parts = [r.conditions !== undefined ? String(r.conditions) : undefined, r.temperatureC !== undefined ? `at ${String(r.temperatureC)}°C` : undefined].filter(Boolean);
    const extras = [r.humidity !== undefined ? `${String(r.humidity)}% humidity` : undefined, r.windKph !== undefined ? `wind at ${String(r.windKph)} km/h` : undefined].filter(Boolean);
    if (parts.length === 0 && extras.length === 0) return `The weather in ${subject}: ${JSON.stringify(r)}.`;
    return `The weather in ${subject} is ${parts.join(' ') || 'known'}${extras.length ? `, with ${extras.join(' and ')}` : ''}.`;
  }
  if (call?.name === 'get_local_time') return `Your local time is ${String(r.time ?? '?')} (${String(r.timeZone ?? 'time zone unknown')}).`;
  return `${subject} = ${String(r.value ?? JSON.stringify(r))}.`;
}

function safeJson(text: string | undefined): unknown {
  const json = text === undefined ? undefined : parseJson(text);
  return json?.ok ? json.value : undefined;
}

const countWords = (messages: ModelMessage[]): number =>
  messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length, 0);

/** Behind schedule, this many due tokens go out in one turn before the model yields one. */
const BEHIND_BURST = 32;

/** What one answer of the simulated model is given. */
interface RunSetup {
  request: ModelRequest;
  sink: ModelSink;
  clock: TokenClock;
  intervalMs: number;
  firstTokenMs: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

/**
 * One answer of the simulated model, from the first token due to `finish`. A class:
 * a stream parked before its first token holds this one object, two bound functions (the
 * clock's task and the signal's listener) and its promise; what it says is planned when the
 * first token is due.
 */
class SimulatedRun {
  private readonly setup: RunSetup;
  private readonly started = performance.now();
  private readonly failAt: number | undefined;
  private readonly step: () => void;
  private readonly onAbort: (reason: unknown) => void;
  private next: Plan | undefined;
  private thinking = 0;
  private limit = 0;
  private answer: Iterator<string> | undefined;
  private upcoming: IteratorResult<string> | undefined;
  private thoughts: Generator<string> | undefined;
  /** Tokens pushed so far, reasoning and answer together: the schedule's index. */
  private n = 0;
  private sent = 0;
  private due: number;
  private waiting = true;
  private ended = false;

  constructor(setup: RunSetup) {
    this.setup = setup;
    this.failAt = setup.request.simulate?.failAfterTokens;
    this.due = this.started + setup.firstTokenMs;
    this.step = this.run.bind(this);
    this.onAbort = this.requestOnAbort.bind(this);
    // The engine's requests offer `onAbort` (called at once if already aborted): no AbortSignal
    // and no listener on one while the stream waits for its first token.
    if (setup.request.onAbort) setup.request.onAbort(this.onAbort);
    else setup.request.signal.addEventListener('abort', this.onAbort, { once: true });
    if (this.ended) return;
    // A first token already due (SIM_FIRST_TOKEN_MS=0) goes out now, in its start's turn and
    // write, not in one timer turn with every stream started meanwhile: the clock
    // takes only times still to come.
    if (this.due - performance.now() > 1) setup.clock.at(this.due, this.step);
    else this.run();
  }

  /** From `onAbort`, the abort's reason; from the signal, its `abort` event. */
  private requestOnAbort(reason: unknown): void {
    this.end(reason instanceof Event ? this.setup.request.signal.reason : reason);
  }

  private end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const { request } = this.setup;
    if (request.onAbort) request.onAbort(undefined);
    else request.signal.removeEventListener('abort', this.onAbort);
    if (this.waiting) this.setup.clock.cancel(this.due, this.step);
    this.waiting = false;
    if (error === undefined) this.setup.resolve();
    else this.setup.reject(error);
  }

  private begin(next: Plan): void {
    const { request } = this.setup;
    this.next = next;
    this.thinking = next.kind === 'text' ? (request.simulate?.reasoningTokens ?? 0) : 0;
    this.limit = next.kind === 'text' ? Math.min(next.limit, request.maxTokens ?? Infinity) : 0;
    this.answer = next.kind === 'text' ? next.tokens[Symbol.iterator]() : undefined;
    this.upcoming = this.limit > 0 ? this.answer?.next() : undefined;
    this.thoughts = this.thinking > 0 ? thinkingTokens() : undefined;
  }

  private usage(answered: number) {
    const prompt = countWords(this.setup.request.messages);
    const completion = answered + this.thinking;
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, ...(this.thinking ? { reasoningTokens: this.thinking } : {}) };
  }

  /** Pushes what is due: true when the answer is complete. */
  private emit(next: Plan): boolean {
    const { sink } = this.setup;
    if (next.kind === 'tool') {
      const args = JSON.stringify(next.args);
      const id = `sim_${(this.started * 1000).toString(36).replace('.', '')}`;
      // Streamed in two pieces, as real providers do.
      sink.event({ type: 'tool_call_delta', index: 0, id, name: next.name, argumentsDelta: args.slice(0, 8) });
      sink.event({ type: 'tool_call_delta', index: 0, argumentsDelta: args.slice(8) });
      sink.event({ type: 'finish', reason: 'tool_calls', usage: this.usage(1) });
      return true;
    }
    if (this.thoughts && this.n < this.thinking) {
      sink.event({ type: 'reasoning', text: this.thoughts.next().value as string });
      this.n++;
      return false;
    }
    // The answer's next token was read ahead, so `finish` follows the last token at once.
    if (this.upcoming === undefined || this.upcoming.done || this.sent === this.limit) return this.finish(next);
    sink.text(this.upcoming.value);
    this.n++;
    this.sent++;
    if (this.failAt !== undefined && this.sent === this.failAt) throw failure();
    this.upcoming = this.sent < this.limit ? this.answer?.next() : undefined;
    return this.upcoming === undefined || this.upcoming.done ? this.finish(next) : false;
  }

  private finish(next: Extract<Plan, { kind: 'text' }>): true {
    const { sent, limit } = this;
    const reason: FinishReason = sent === limit && limit === this.setup.request.maxTokens && limit < next.limit ? 'length' : 'stop';
    this.setup.sink.event({ type: 'finish', reason, usage: this.usage(sent) });
    return true;
  }

  /** The clock's task: what is due now, then the next wake-up. */
  private run(): void {
    this.waiting = false;
    if (this.ended) return;
    const { clock, firstTokenMs, intervalMs, request } = this.setup;
    try {
      if (this.n === 0) {
        if (this.failAt === 0) throw failure();
        this.begin(plan(request));
      }
      const next = this.next as Plan;
      for (let burst = 1; ; burst++) {
        if (this.emit(next)) return this.end();
        // An engine that aborted the stream from inside the sink ends it here.
        if (this.ended) return;
        this.due = this.started + firstTokenMs + this.n * intervalMs;
        if (this.due - performance.now() > 1) {
          this.waiting = true;
          clock.at(this.due, this.step);
          return;
        }
        // Behind schedule the model would otherwise hold the loop: timers and I/O get a turn.
        if (burst === BEHIND_BURST) return clock.soon(this.step);
      }
    } catch (error) {
      this.end(error);
    }
  }
}

const failure = () => new TokenwireError('upstream_error', 'The simulated model failed on request.');

/**
 * The embedded model: deterministic text derived from the prompt, paced at a fixed rate on a
 * drift-free schedule (token i is due at first + i / rate), tool calls for weather and
 * arithmetic prompts, and failure on request. It pushes: every stream's next token
 * waits in one shared clock (token-clock.ts), so a token costs no timer, promise or closure, and
 * a stream waiting for its first token holds no timer. `stream()` is the same behind an async
 * iterator.
 */
export function createSimulatedProvider(options: SimulatedProviderOptions): ModelProvider {
  const defaultModel = options.model ?? 'tokenwire-sim-1';
  const clock = createTokenClock();

  function push(request: ModelRequest, sink: ModelSink): Promise<void> {
    // A request with `onAbort` is told at once if it already is aborted (see SimulatedRun).
    if (!request.onAbort && request.signal.aborted) return Promise.reject(request.signal.reason);
    // A request may set its own pace (the demo's pace control), within the schema's bounds.
    const intervalMs = 1000 / (request.simulate?.tokensPerSecond ?? options.tokensPerSecond);
    return new Promise<void>((resolve, reject) => {
      new SimulatedRun({ request, sink, clock, intervalMs, firstTokenMs: options.firstTokenMs, resolve, reject });
    });
  }

  return { name: 'simulated', defaultModel, push, stream: (request) => pushedEvents(push, request) };
}

/** A pushing provider's answer as an async iterator (tests, and engines that want one). */
async function* pushedEvents(push: NonNullable<ModelProvider['push']>, request: ModelRequest): AsyncGenerator<ModelEvent> {
  const queue: ModelEvent[] = [];
  let wake: (() => void) | undefined;
  let outcome: { error: unknown } | 'done' | undefined;
  const add = (event: ModelEvent) => {
    queue.push(event);
    wake?.();
  };
  push(request, { text: (text) => add({ type: 'text', text }), event: add }).then(
    () => ((outcome = 'done'), wake?.()),
    (error: unknown) => ((outcome = { error }), wake?.()),
  );
  for (let i = 0; ; ) {
    if (i < queue.length) {
      yield queue[i++] as ModelEvent;
      continue;
    }
    queue.length = 0;
    i = 0;
    if (outcome === 'done') return;
    if (outcome) throw outcome.error;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
