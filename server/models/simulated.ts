import { TokenwireError } from '../../shared/errors.js';
import type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest } from './provider.js';
import { answerLength, answerTokens } from './simulated-answers.js';
import { thinkingTokens, wordTokens } from './simulated-text.js';

export interface SimulatedProviderOptions {
  /** The pace unless a request asks for its own (`simulate.tokensPerSecond`). */
  tokensPerSecond: number;
  firstTokenMs: number;
  model?: string | undefined;
}

/**
 * Waits between tokens, and rejects a pending wait as soon as the signal aborts. One abort
 * listener per stream rather than one per token: this runs tens of thousands of times a second
 * under load.
 */
function createPacer(signal: AbortSignal) {
  let pending: { reject: (reason: unknown) => void; timer: NodeJS.Timeout } | undefined;
  const onAbort = () => {
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.reject(signal.reason);
    pending = undefined;
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    wait(ms: number): Promise<void> {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending = undefined;
          resolve();
        }, ms);
        pending = { reject, timer };
      });
    },
    dispose: () => signal.removeEventListener('abort', onAbort),
  };
}

/**
 * One turn of the event loop. Behind schedule the model would otherwise emit through
 * microtasks only, and the process would stop reading sockets and firing timers.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

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

/**
 * The embedded model: deterministic text derived from the prompt, paced at a fixed rate on a
 * drift-free schedule (token i is due at first + i / rate), tool calls for weather and
 * arithmetic prompts, and failure on request. A timer per token: cheap enough for thousands
 * of concurrent streams.
 */
export function createSimulatedProvider(options: SimulatedProviderOptions): ModelProvider {
  const defaultModel = options.model ?? 'tokenwire-sim-1';

  async function* stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    const { signal } = request;
    const pacer = createPacer(signal);
    try {
      const started = performance.now();
      // A request may set its own pace (the demo's pace control), within the schema's bounds.
      const intervalMs = 1000 / (request.simulate?.tokensPerSecond ?? options.tokensPerSecond);
      const next = plan(request);
      const failAt = request.simulate?.failAfterTokens;
      const thinking = next.kind === 'text' ? (request.simulate?.reasoningTokens ?? 0) : 0;
      const usage = (answer: number) => {
        const prompt = countWords(request.messages);
        const completion = answer + thinking;
        return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, ...(thinking ? { reasoningTokens: thinking } : {}) };
      };
      let behind = 0;
      /** Waits until the n-th token (reasoning and answer counted together) is due. */
      const pace = async (n: number) => {
        if (n === 0) return;
        const wait = started + options.firstTokenMs + n * intervalMs - performance.now();
        if (wait > 1) await pacer.wait(wait);
        else if (++behind % 32 === 0) await turn();
        if (signal.aborted) throw signal.reason;
      };
      await pacer.wait(options.firstTokenMs);
      if (failAt === 0) throw new TokenwireError('upstream_error', 'The simulated model failed on request.');

      if (next.kind === 'tool') {
        const args = JSON.stringify(next.args);
        const id = `sim_${(started * 1000).toString(36).replace('.', '')}`;
        // Streamed in two pieces, as real providers do.
        yield { type: 'tool_call_delta', index: 0, id, name: next.name, argumentsDelta: args.slice(0, 8) };
        yield { type: 'tool_call_delta', index: 0, argumentsDelta: args.slice(8) };
        yield { type: 'finish', reason: 'tool_calls', usage: usage(1) };
        return;
      }

      // Reasoning on request (`simulate.reasoningTokens`), before the answer, as reasoning models stream it.
      let thought = 0;
      for (const token of thinkingTokens()) {
        if (thought === thinking) break;
        await pace(thought);
        yield { type: 'reasoning', text: token };
        thought++;
      }

      const limit = Math.min(next.limit, request.maxTokens ?? Infinity);
      let sent = 0;
      let reason: FinishReason = 'stop';
      for (const token of next.tokens) {
        if (sent === limit) {
          reason = limit === request.maxTokens && limit < next.limit ? 'length' : 'stop';
          break;
        }
        await pace(thinking + sent);
        yield { type: 'text', text: token };
        sent++;
        if (failAt !== undefined && sent === failAt) {
          throw new TokenwireError('upstream_error', 'The simulated model failed on request.');
        }
      }
      yield { type: 'finish', reason, usage: usage(sent) };
    } finally {
      pacer.dispose();
    }
  }

  return { name: 'simulated', defaultModel, stream };
}
