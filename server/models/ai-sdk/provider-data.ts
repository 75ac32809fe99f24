import type { SharedV4ProviderOptions } from '@ai-sdk/provider';
import type { ProviderData } from '../provider.js';

/** The key of `ProviderData` this adapter writes and reads; other adapters' keys pass untouched. */
export const AI_SDK_KEY = 'aiSdk';

/**
 * What a turn's parts carried in `providerMetadata` that the model needs back as
 * `providerOptions` on the same parts (Anthropic's thinking `signature` or `redactedData`,
 * OpenAI Responses' `itemId`s): each reasoning part with its text, the text, and each tool call
 * by its id. Only parts that carried metadata are kept.
 */
export interface TurnMetadata {
  /** Every reasoning part of the turn in order, when any of them carried metadata. */
  reasoning?: { text: string; providerOptions?: SharedV4ProviderOptions }[];
  /** The text parts' metadata, merged (tokenwire keeps a turn's text as one string). */
  text?: SharedV4ProviderOptions;
  /** Tool calls' metadata by tool call id. */
  toolCalls?: Record<string, SharedV4ProviderOptions>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Provider options as the AI SDK types them: an object of objects keyed by provider name. */
const asOptions = (value: unknown): SharedV4ProviderOptions | undefined =>
  isRecord(value) && Object.values(value).every(isRecord) ? (value as SharedV4ProviderOptions) : undefined;

/**
 * This adapter's part of a message's provider data, checked piece by piece: an assistant
 * message may come back from a client, so anything not of the written shape is dropped rather
 * than sent upstream.
 */
export function readTurnMetadata(data: ProviderData | undefined): TurnMetadata {
  const own = data?.[AI_SDK_KEY];
  if (!isRecord(own)) return {};
  const read: TurnMetadata = {};
  if (Array.isArray(own.reasoning)) {
    const parts = own.reasoning.filter((part): part is Record<string, unknown> => isRecord(part) && typeof part.text === 'string');
    read.reasoning = parts.map((part) => {
      const options = asOptions(part.providerOptions);
      return { text: part.text as string, ...(options ? { providerOptions: options } : {}) };
    });
  }
  const text = asOptions(own.text);
  if (text) read.text = text;
  if (isRecord(own.toolCalls)) {
    const calls = Object.entries(own.toolCalls).flatMap(([id, options]) => (asOptions(options) ? [[id, options as SharedV4ProviderOptions] as const] : []));
    if (calls.length) read.toolCalls = Object.fromEntries(calls);
  }
  return read;
}

/** Merges part metadata provider by provider, a later key replacing an earlier one. */
export function mergeOptions(into: SharedV4ProviderOptions | undefined, more: SharedV4ProviderOptions | undefined): SharedV4ProviderOptions | undefined {
  if (!more) return into;
  const merged: SharedV4ProviderOptions = { ...into };
  for (const [provider, values] of Object.entries(more)) merged[provider] = { ...merged[provider], ...values };
  return merged;
}
