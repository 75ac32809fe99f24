import { TokenwireError } from '../../shared/errors.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelSink } from './provider.js';
import { answerLength, answerTokens } from './simulated-answers.js';
import { thinkingTokens, wordTokens } from './simulated-text.js';
import { createTokenClock } from './token-clock.js';

export interface SimulatedProviderOptions {
  /** The pace unless a request asks for its own (`simulate.tokensPerSecond`). */
  tokensPerSecond: number;
  firstTokenMs: number;
  model?: string | undefined;
}

const WEATHER = /\bweather\b.*?\b(?:in|for|at)\s+([\p{L}][\p{L}\p{M} .'-]{0,60}?)\s*(?:today|tomorrow|now|right now)?\s*(?:[?!.,;]|$)/iu;
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
  return { kind: 'text', tokens: answerTokens(prompt), limit: request.simulate?.tokens ?? answerLength(prompt) };
}

/** The sentence after a tool result: it names what was asked (the city) and the result. */
function afterTool(messages: ModelMessage[], result: Extract<ModelMessage, { role: 'tool' }>): string {
  const call = messages
    .flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []) : []))
    .find((c) => c.id === result.toolCallId);
  const args = safeJson(call?.arguments) as { city?: string; expression?: string } | undefined;
  const body = safeJson(result.content) as { ok?: boolean; result?: Record<string, unknown>; error?: { code?: string; message?: string } };
  const subject = args?.city ?? args?.expression ?? 'that';
  if (!body?.ok) {
    // The tool's message is a sentence of its own: no second full stop after it.
    const why = (body?.error?.message ?? 'the tool did not run').replace(/[.!?\s]+$/u, '');
    if (body?.error?.code === 'denied') return `You declined the ${call?.name ?? 'tool'} call, so I could not look up ${subject}.`;
    return `I could not get an answer for ${subject}: ${why}.`;
  }
  const r = body.result ?? {};
  if (call?.name === 'get_weather') {
    return `The weather in ${subject} is ${String(r.conditions)} at ${String(r.temperatureC)}°C, with ${String(r.humidity)}% humidity and wind at ${String(r.windKph)} km/h.`;
  }
  return `${subject} = ${String(r.value ?? JSON.stringify(r))}.`;
}

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const countWords = (messages: ModelMessage[]): number =>
  messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length, 0);

/** Behind schedule, this many due tokens go out in one turn before the model yields one. */
const BEHIND_BURST = 32;

/**
 * The embedded model: deterministic text derived from the prompt, paced at a fixed rate on a
 * drift-free schedule (token i is due at first + i / rate), tool calls for weather and
 * arithmetic prompts, and failure on request. It pushes (issue 14): every stream's next token
 * waits in one shared clock (token-clock.ts), so a token costs no timer, promise or closure, and
 * a stream waiting for its first token holds no timer. `stream()` is the same behind an async
 * iterator.
 */
export function createSimulatedProvider(options: SimulatedProviderOptions): ModelProvider {
  const defaultModel = options.model ?? 'tokenwire-sim-1';
  const clock = createTokenClock();

  function push(request: ModelRequest, sink: ModelSink): Promise<void> {
    const { signal } = request;
    if (signal.aborted) return Promise.reject(signal.reason);
    let resolve!: () => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const started = performance.now();
    // A request may set its own pace (the demo's pace control), within the schema's bounds.
    const intervalMs = 1000 / (request.simulate?.tokensPerSecond ?? options.tokensPerSecond);
    const failAt = request.simulate?.failAfterTokens;
    // What the model says is decided when its first token is due (issue 14): a stream parked
    // before it holds no answer text, token list or iterators.
    let next!: Plan;
    let thinking = 0;
    let limit = 0;
    let answer: Iterator<string> | undefined;
    let upcoming: IteratorResult<string> | undefined;
    let thoughts: Generator<string> | undefined;
    const begin = () => {
      next = plan(request);
      thinking = next.kind === 'text' ? (request.simulate?.reasoningTokens ?? 0) : 0;
      limit = next.kind === 'text' ? Math.min(next.limit, request.maxTokens ?? Infinity) : 0;
      answer = next.kind === 'text' ? next.tokens[Symbol.iterator]() : undefined;
      upcoming = limit > 0 ? answer?.next() : undefined;
      thoughts = thinking > 0 ? thinkingTokens() : undefined;
    };
    /** Tokens pushed so far, reasoning and answer together: the schedule's index. */
    let n = 0;
    let sent = 0;
    let due = started + options.firstTokenMs;
    let waiting = false;
    let ended = false;

    const usage = (answered: number) => {
      const prompt = countWords(request.messages);
      const completion = answered + thinking;
      return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, ...(thinking ? { reasoningTokens: thinking } : {}) };
    };
    const end = (error?: unknown) => {
      if (ended) return;
      ended = true;
      signal.removeEventListener('abort', signalOnAbort);
      if (waiting) clock.cancel(due, step);
      waiting = false;
      if (error === undefined) resolve();
      else reject(error);
    };
    function signalOnAbort(): void {
      end(signal.reason);
    }
    const fail = () => new TokenwireError('upstream_error', 'The simulated model failed on request.');

    /** Pushes what is due: true when the answer is complete. */
    function emit(): boolean {
      if (next.kind === 'tool') {
        const args = JSON.stringify(next.args);
        const id = `sim_${(started * 1000).toString(36).replace('.', '')}`;
        // Streamed in two pieces, as real providers do.
        sink.event({ type: 'tool_call_delta', index: 0, id, name: next.name, argumentsDelta: args.slice(0, 8) });
        sink.event({ type: 'tool_call_delta', index: 0, argumentsDelta: args.slice(8) });
        sink.event({ type: 'finish', reason: 'tool_calls', usage: usage(1) });
        return true;
      }
      if (thoughts && n < thinking) {
        sink.event({ type: 'reasoning', text: thoughts.next().value as string });
        n++;
        return false;
      }
      // The answer's next token was read ahead, so `finish` follows the last token at once.
      if (upcoming === undefined || upcoming.done || sent === limit) return finish();
      sink.text(upcoming.value);
      n++;
      sent++;
      if (failAt !== undefined && sent === failAt) throw fail();
      upcoming = sent < limit ? answer?.next() : undefined;
      return upcoming === undefined || upcoming.done ? finish() : false;
    }

    function finish(): true {
      const reason: FinishReason = sent === limit && limit === request.maxTokens && limit < (next as { limit: number }).limit ? 'length' : 'stop';
      sink.event({ type: 'finish', reason, usage: usage(sent) });
      return true;
    }

    function step(): void {
      waiting = false;
      if (ended) return;
      try {
        if (n === 0) {
          if (failAt === 0) throw fail();
          begin();
        }
        for (let burst = 1; ; burst++) {
          if (emit()) return end();
          // An engine that aborted the stream from inside the sink ends it here.
          if (ended) return;
          due = started + options.firstTokenMs + n * intervalMs;
          if (due - performance.now() > 1) {
            waiting = true;
            clock.at(due, step);
            return;
          }
          // Behind schedule the model would otherwise hold the loop: timers and I/O get a turn.
          if (burst === BEHIND_BURST) return clock.soon(step);
        }
      } catch (error) {
        end(error);
      }
    }

    signal.addEventListener('abort', signalOnAbort, { once: true });
    waiting = true;
    clock.at(due, step);
    return promise;
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
