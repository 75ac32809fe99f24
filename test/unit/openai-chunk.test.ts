import { describe, expect, it } from 'vitest';
import { readChunk, toFinishReason } from '../../server/models/openai-chunk.js';
import { retryAfterMs } from '../../server/models/upstream-retry.js';

describe('readChunk: any field may be missing or of the wrong type', () => {
  it.each([
    ['not an object', 'data'],
    ['null', null],
    ['no choices key', { id: 'c1', object: 'chat.completion.chunk' }],
    ['choices not an array', { choices: { index: 0 } }],
    ['empty choices (Azure first chunk)', { choices: [], prompt_filter_results: [] }],
    ['a choice without delta', { choices: [{ index: 0 }] }],
    ['choices of the wrong type', { choices: [null, 3, 'x'] }],
    ['content of the wrong type', { choices: [{ index: 0, delta: { content: 42 } }] }],
  ])('%s: no events, no throw', (_, chunk) => {
    expect(readChunk(chunk)).toEqual({ events: [] });
  });

  it('reads usage from a chunk without choices, Groq\'s x_groq.usage, and reasoning tokens', () => {
    expect(readChunk({ usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }).usage).toEqual({ promptTokens: 5, completionTokens: 3, totalTokens: 8 });
    expect(readChunk({ choices: [], x_groq: { usage: { prompt_tokens: 2, completion_tokens: 4 } } }).usage).toEqual({ promptTokens: 2, completionTokens: 4, totalTokens: 6 });
    expect(
      readChunk({ usage: { prompt_tokens: 1, completion_tokens: 9, total_tokens: 10, completion_tokens_details: { reasoning_tokens: 7 } } }).usage,
    ).toEqual({ promptTokens: 1, completionTokens: 9, totalTokens: 10, reasoningTokens: 7 });
    expect(readChunk({ usage: null }).usage).toBeUndefined();
  });

  it('reads reasoning_content (vLLM, DeepSeek) and reasoning (OpenRouter, Ollama), a refusal as text', () => {
    expect(readChunk({ choices: [{ index: 0, delta: { reasoning_content: 'hmm' } }] }).events).toEqual([{ type: 'reasoning', text: 'hmm' }]);
    expect(readChunk({ choices: [{ delta: { reasoning: 'so', content: 'Yes' } }] }).events).toEqual([
      { type: 'reasoning', text: 'so' },
      { type: 'text', text: 'Yes' },
    ]);
    expect(readChunk({ choices: [{ index: 0, delta: { refusal: 'I cannot help.' } }] }).events).toEqual([{ type: 'text', text: 'I cannot help.' }]);
  });

  it('reads tool-call pieces without index or id, and arguments sent as an object', () => {
    expect(readChunk({ choices: [{ delta: { tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }, 'junk'] } }] }).events).toEqual([
      { type: 'tool_call_delta', name: 'f', argumentsDelta: '{"a":1}' },
    ]);
  });

  it('takes only the first choice and its finish_reason', () => {
    const reading = readChunk({ choices: [{ index: 1, delta: { content: 'other' } }, { index: 0, delta: { content: 'mine' }, finish_reason: 'length' }] });
    expect(reading).toEqual({ events: [{ type: 'text', text: 'mine' }], finishReason: 'length' });
  });

  it('maps finish reasons and their synonyms; an unknown one maps to nothing', () => {
    expect(['stop', 'eos', 'length', 'max_tokens', 'tool_calls', 'function_call', 'content_filter'].map(toFinishReason)).toEqual([
      'stop',
      'stop',
      'length',
      'length',
      'tool_calls',
      'tool_calls',
      'content_filter',
    ]);
    expect(toFinishReason('abort')).toBeUndefined();
    expect(toFinishReason('constructor')).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  const headers = (h: Record<string, string>) => new Headers(h);
  it('prefers retry-after-ms, then Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '8000', 'retry-after': '1' }))).toBe(8000);
    expect(retryAfterMs(headers({ 'retry-after': '2.5' }))).toBe(2500);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }), Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
