import type { LanguageModelV3, LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4StreamPart, SharedV4ProviderOptions } from '@ai-sdk/provider';
import { TokenwireError } from '../../../shared/errors.js';
import { checkKeys } from '../../settings/option-keys.js';
import type { ModelEvent, ModelProvider, ModelRequest } from '../provider.js';
import { toPrompt, toTools } from './prompt.js';
import { TurnReader } from './turn-reader.js';
import { toUpstreamError } from './upstream-error.js';

/**
 * A language model of the AI SDK's provider specification: version 4 (what `ai` 7's
 * `@ai-sdk/*` providers make) or version 3 (`ai` 6's). What `anthropic('claude-…')`,
 * `openai('gpt-…')`, `google(…)` and the like return.
 */
export type AiSdkLanguageModel = LanguageModelV4 | LanguageModelV3;

/** Options of `aiSdkModel`. */
export interface AiSdkModelOptions {
  /**
   * Provider options sent with every request, keyed by provider name, e.g.
   * `{ anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } } }`; default none.
   */
  providerOptions?: SharedV4ProviderOptions;
  /** Longest wait for the answer to begin or for its next part, ms, before `upstream_timeout` (default 60,000). */
  idleTimeoutMs?: number;
}

const abortError = () => new DOMException('The operation was aborted.', 'AbortError');

/**
 * A model of any AI SDK provider (`@ai-sdk/anthropic`, `@ai-sdk/openai`, `@ai-sdk/google`, a
 * community one) as tokenwire's `ModelProvider`, through its `doStream`: text, reasoning, tool
 * calls, usage (with reasoning tokens) and finish reasons; the chat's temperature and
 * maxTokens; the request's AbortSignal goes to the model (an abort closes the upstream socket).
 * What a part's `providerMetadata` must give back (Anthropic's thinking signatures, per-call
 * metadata) goes out as `provider_data` and returns as `providerOptions` on the same parts.
 * Failures are `upstream_*` TokenwireErrors by the status they carry. No retries: one request
 * per model turn.
 *
 * @param model - A language model: `anthropic('claude-sonnet-4-5')`, `openai('gpt-5')` …; its
 *   `provider` is the name in logs, its `modelId` the default model. A chat that names another
 *   model fails with `upstream_rejected`: one adapter wraps one model.
 * @throws TypeError for something that is not a v3 or v4 language model (a model id string
 *   needs the `ai` package's gateway: pass `gateway('…')`), a bad option, or an unknown key.
 */
export function aiSdkModel(model: AiSdkLanguageModel, options: AiSdkModelOptions = {}): ModelProvider {
  if (typeof model !== 'object' || model === null || typeof (model as { doStream?: unknown }).doStream !== 'function') {
    throw new TypeError(`aiSdkModel: give a language model such as anthropic('claude-…'), not ${typeof model === 'string' ? 'a model id string (use gateway(…) for ids)' : typeof model}`);
  }
  const version = (model as { specificationVersion?: unknown }).specificationVersion;
  if (version !== 'v4' && version !== 'v3') throw new TypeError(`aiSdkModel: the model implements specification ${String(version)}; v3 or v4 is needed (update its @ai-sdk provider package)`);
  if (typeof options !== 'object' || options === null) throw new TypeError('aiSdkModel: options must be an object');
  checkKeys('aiSdkModel', options, ['providerOptions', 'idleTimeoutMs']);
  const idleMs = options.idleTimeoutMs ?? 60_000;
  if (!Number.isInteger(idleMs) || idleMs < 100 || idleMs > 3_600_000) throw new TypeError('aiSdkModel: idleTimeoutMs must be a whole number from 100 to 3,600,000');
  const { providerOptions } = options;
  if (providerOptions !== undefined && (typeof providerOptions !== 'object' || providerOptions === null)) throw new TypeError('aiSdkModel: providerOptions must be an object keyed by provider name');

  async function* stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    if (request.model !== undefined && request.model !== model.modelId) {
      throw new TokenwireError('upstream_rejected', `This server offers the model ${JSON.stringify(model.modelId)} only.`);
    }
    const { signal } = request;
    if (signal.aborted) throw signal.reason;
    // One controller for both ends of this request: the chat's abort and the idle clock.
    const upstream = new AbortController();
    let reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart> | undefined;
    let idle = false;
    const stop = () => {
      upstream.abort(signal.aborted ? signal.reason : abortError());
      // A model that ignores its abortSignal still stops: cancelling the stream cancels its source.
      reader?.cancel().catch(() => {});
    };
    // One timer per request, moved on by the parts as they come rather than set per part.
    let lastPartAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const watch = (waitMs: number) => {
      timer = setTimeout(() => {
        const quiet = performance.now() - lastPartAt;
        if (quiet < idleMs) return watch(idleMs - quiet);
        idle = true;
        stop();
      }, waitMs);
      timer.unref?.();
    };
    signal.addEventListener('abort', stop, { once: true });
    watch(idleMs);
    const turn = new TurnReader();
    try {
      const callOptions: LanguageModelV4CallOptions = {
        prompt: toPrompt(request.messages),
        abortSignal: upstream.signal,
        ...(request.tools.length ? { tools: toTools(request.tools) } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxTokens !== undefined ? { maxOutputTokens: request.maxTokens } : {}),
        ...(providerOptions ? { providerOptions } : {}),
      };
      // A v3 model reads the same call: the prompt parts, tools and settings used here are alike in both.
      const result = await (model as LanguageModelV4).doStream(callOptions);
      reader = result.stream.getReader();
      if (upstream.signal.aborted) stop();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        lastPartAt = performance.now();
        const event = turn.read(value);
        if (event) yield event;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (idle) throw new TokenwireError('upstream_timeout', `The model service sent nothing for ${idleMs} ms.`, { cause: error });
      throw toUpstreamError(error);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      // Ends the upstream request when the engine stops reading early (an error part, a throw).
      if (reader) reader.cancel().catch(() => {});
    }
    if (signal.aborted) throw signal.reason;
    if (idle) throw new TokenwireError('upstream_timeout', `The model service sent nothing for ${idleMs} ms.`);
    if (!turn.finish) throw new TokenwireError('upstream_error', 'The model service ended the answer without a finish reason.');
    const providerData = turn.providerData();
    if (providerData) yield { type: 'provider_data', data: providerData };
    yield turn.finish;
  }

  return { name: model.provider, defaultModel: model.modelId, stream };
}
