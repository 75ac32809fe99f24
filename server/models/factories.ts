import { checkKeys } from '../settings/option-keys.js';
import { createOpenAIProvider } from './openai.js';
import type { ModelProvider } from './provider.js';
import { createSimulatedProvider } from './simulated.js';

/** Options of `openaiModel`: the `openai` SDK's client settings plus tokenwire's upstream policy. */
export interface OpenAIModelOptions {
  /** The API key (OpenAI's, or the compatible server's). */
  apiKey: string;
  /** Any OpenAI-compatible Chat Completions server, e.g. `http://127.0.0.1:8000/v1` (vLLM, Ollama, LiteLLM); default OpenAI's. */
  baseURL?: string;
  /** The model when a request names none (default `gpt-4o-mini`). */
  model?: string;
  /** Connecting and waiting for the response head, per attempt, ms (default 600,000). */
  timeoutMs?: number;
  /** Longest silence between body bytes before the stream ends with `upstream_timeout`, ms (default 60,000). */
  idleTimeoutMs?: number;
  /** Retries before the first byte on 408, 409, 429, 5xx and connection errors (default 2). */
  maxRetries?: number;
  /** Longest `Retry-After` honoured, ms; a longer one ends the stream with `upstream_rate_limited` (default 10,000). */
  maxRetryWaitMs?: number;
}

const positive = (name: string, value: number | undefined, min: number, max: number): number | undefined => {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) throw new TypeError(`openaiModel: ${name} must be a whole number from ${min} to ${max}`);
  return value;
};

/**
 * A model behind OpenAI's Chat Completions streaming API (or any compatible server), through
 * the official `openai` SDK: text, reasoning (`reasoning_content`), tool calls, usage, abort.
 * @throws TypeError for a missing `apiKey`, a bad `baseURL` or number, or an unknown key (named, with the one it probably meant).
 */
export function openaiModel(options: OpenAIModelOptions): ModelProvider {
  if (typeof options !== 'object' || options === null) throw new TypeError('openaiModel: give { apiKey, baseURL?, model? }');
  checkKeys('openaiModel', options, ['apiKey', 'baseURL', 'model', 'timeoutMs', 'idleTimeoutMs', 'maxRetries', 'maxRetryWaitMs']);
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new TypeError('openaiModel: apiKey is required');
  if (options.baseURL !== undefined && !URL.canParse(options.baseURL)) throw new TypeError(`openaiModel: baseURL ${JSON.stringify(options.baseURL)} is not a URL`);
  return createOpenAIProvider({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    model: options.model,
    timeoutMs: positive('timeoutMs', options.timeoutMs, 1, 3_600_000) ?? 600_000,
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 100, 3_600_000) ?? 60_000,
    maxRetries: positive('maxRetries', options.maxRetries, 0, 10) ?? 2,
    maxRetryWaitMs: positive('maxRetryWaitMs', options.maxRetryWaitMs, 0, 600_000) ?? 10_000,
  });
}

/** Options of `simulatedModel`. */
export interface SimulatedModelOptions {
  /** Tokens per second (default 30); a request may ask for its own pace (`options.simulate`). */
  tokensPerSecond?: number;
  /** Delay before the first token, ms (default 150). */
  firstTokenMs?: number;
  /** The model name it reports (default `tokenwire-sim-1`). */
  model?: string;
}

/**
 * The embedded simulated model: deterministic answers at a steady pace, the weather and
 * calculator tool calls the demo uses, no network. The default model.
 * @throws TypeError for a pace out of range.
 */
export function simulatedModel(options: SimulatedModelOptions = {}): ModelProvider {
  checkKeys('simulatedModel', options, ['tokensPerSecond', 'firstTokenMs', 'model']);
  const tokensPerSecond = options.tokensPerSecond ?? 30;
  if (!(tokensPerSecond > 0 && tokensPerSecond <= 100_000)) throw new TypeError('simulatedModel: tokensPerSecond must be above 0 and at most 100,000');
  const firstTokenMs = options.firstTokenMs ?? 150;
  if (!Number.isInteger(firstTokenMs) || firstTokenMs < 0 || firstTokenMs > 60_000) throw new TypeError('simulatedModel: firstTokenMs must be a whole number from 0 to 60,000');
  return createSimulatedProvider({ tokensPerSecond, firstTokenMs, model: options.model });
}
