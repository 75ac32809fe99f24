import type { Config } from '../settings/config.js';
import { createOpenAIProvider } from './openai.js';
import type { ModelProvider } from './provider.js';
import { createSimulatedProvider } from './simulated.js';

/** Picks the model provider the configuration asks for: openai with a key, else simulated. */
export function createProvider(config: Config): ModelProvider {
  const useOpenAI =
    config.MODEL_PROVIDER === 'openai' || (config.MODEL_PROVIDER === 'auto' && config.OPENAI_API_KEY !== undefined);
  if (useOpenAI && config.OPENAI_API_KEY) {
    return createOpenAIProvider({
      apiKey: config.OPENAI_API_KEY,
      baseURL: config.OPENAI_BASE_URL,
      model: config.MODEL,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      idleTimeoutMs: config.UPSTREAM_IDLE_TIMEOUT_MS,
      maxRetries: config.UPSTREAM_MAX_RETRIES,
      maxRetryWaitMs: config.UPSTREAM_MAX_RETRY_WAIT_MS,
    });
  }
  return createSimulatedProvider({
    tokensPerSecond: config.SIM_TOKENS_PER_SECOND,
    firstTokenMs: config.SIM_FIRST_TOKEN_MS,
    model: config.MODEL,
  });
}
