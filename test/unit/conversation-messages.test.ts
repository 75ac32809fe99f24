import { describe, expect, it } from 'vitest';
import { parseWith } from '../../shared/frame-codec.js';
import { ChatRequest, LIMITS, type ChatMessage } from '../../shared/protocol.js';
import { toModelMessages } from '../../server/engine/model-messages.js';
import { readChunk } from '../../server/models/openai-chunk.js';

const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const toolTurn: ChatMessage[] = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: '', toolCalls: [call], reasoning: 'I should look.', providerData: { openai: { reasoningField: 'reasoning_content' } } },
  { role: 'tool', toolCallId: 'call_1', content: '{"ok":true,"result":{"tempC":18}}' },
  { role: 'assistant', content: 'It is 18 °C.' },
  { role: 'user', content: 'And tomorrow?' },
];

describe('ChatMessage with tool turns (protocol minor 9)', () => {
  it('accepts plain { role, content } messages unchanged', () => {
    const parsed = parseWith(ChatRequest, { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });
    expect(parsed).toEqual({ ok: true, value: { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] } });
  });

  it('accepts an assistant message with tool calls, reasoning and provider data, and the tool message that answers it', () => {
    const parsed = parseWith(ChatRequest, { messages: toolTurn });
    expect(parsed).toEqual({ ok: true, value: { messages: toolTurn } });
  });

  it('refuses a tool message that answers no call of an earlier assistant message', () => {
    const orphan = parseWith(ChatRequest, { messages: [{ role: 'user', content: 'hi' }, { role: 'tool', toolCallId: 'call_9', content: '{}' }] });
    expect(orphan).toEqual({ ok: false, message: expect.stringContaining('a tool message must answer a tool call of an earlier assistant message') });
    expect(orphan.ok || orphan.message).toContain('messages.1.toolCallId');
    // The answer before its call is no answer either.
    const early = parseWith(ChatRequest, { messages: [toolTurn[0], toolTurn[2], toolTurn[1]] });
    expect(early.ok).toBe(false);
  });

  it('refuses a call answered twice and a call id used twice', () => {
    expect(parseWith(ChatRequest, { messages: [...toolTurn.slice(0, 3), toolTurn[2]] })).toEqual({ ok: false, message: expect.stringContaining('answered twice') });
    const twice = { role: 'assistant', content: '', toolCalls: [call, call] };
    expect(parseWith(ChatRequest, { messages: [toolTurn[0], twice] })).toEqual({ ok: false, message: expect.stringContaining('used twice') });
  });

  it('bounds every new field', () => {
    const assistant = (extra: Record<string, unknown>) => parseWith(ChatRequest, { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '', ...extra }] }).ok;
    expect(assistant({ toolCalls: [{ ...call, arguments: 'x'.repeat(LIMITS.toolArgumentsChars + 1) }] })).toBe(false);
    expect(assistant({ toolCalls: Array.from({ length: LIMITS.toolCallsPerMessage + 1 }, (_, i) => ({ ...call, id: `c${i}` })) })).toBe(false);
    expect(assistant({ toolCalls: [] })).toBe(false);
    expect(assistant({ toolCalls: [{ ...call, id: 'x'.repeat(LIMITS.idChars + 1) }] })).toBe(false);
    expect(assistant({ reasoning: 'x'.repeat(LIMITS.reasoningChars + 1) })).toBe(false);
    expect(assistant({ providerData: { blob: 'x'.repeat(LIMITS.providerDataChars) } })).toBe(false);
    expect(assistant({ providerData: { small: { a: 1 } } })).toBe(true);
    expect(assistant({ unknown: 1 })).toBe(false);
    const tool = parseWith(ChatRequest, { messages: [...toolTurn.slice(0, 2), { ...toolTurn[2], content: 'x'.repeat(LIMITS.messageChars + 1) }] });
    expect(tool.ok).toBe(false);
    // A tool message has no name of its own (it comes from the call) and no unknown keys.
    expect(parseWith(ChatRequest, { messages: [...toolTurn.slice(0, 2), { ...toolTurn[2], toolName: 'x' }] }).ok).toBe(false);
  });
});

describe('toModelMessages', () => {
  it('returns the same array when there is no tool turn and no empty assistant message', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello', reasoning: 'r' }];
    expect(toModelMessages(messages)).toBe(messages);
  });

  it('names each tool message after the call it answers and keeps reasoning and provider data', () => {
    expect(toModelMessages(toolTurn)).toEqual([
      toolTurn[0],
      { role: 'assistant', content: '', toolCalls: [call], reasoning: 'I should look.', providerData: { openai: { reasoningField: 'reasoning_content' } } },
      { role: 'tool', toolCallId: 'call_1', toolName: 'get_weather', content: '{"ok":true,"result":{"tempC":18}}' },
      toolTurn[3],
      toolTurn[4],
    ]);
  });

  it('drops an empty assistant message, a call nobody answered and an answer to no call', () => {
    const unanswered = { id: 'call_2', name: 'get_weather', arguments: '{}' };
    expect(
      toModelMessages([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: '', toolCalls: [unanswered], reasoning: 'hmm' },
        { role: 'user', content: 'c' },
        { role: 'assistant', content: 'partial', toolCalls: [unanswered] },
        // What only a server hook can send: the request's schema refuses it.
        { role: 'tool', toolCallId: 'call_nobody', content: '{}' },
      ]),
    ).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'partial' },
    ]);
  });
});

describe('readChunk: which reasoning field must go back', () => {
  const chunk = (delta: Record<string, unknown>) => ({ choices: [{ index: 0, delta }] });
  it('marks reasoning_content (DeepSeek, vLLM, llama.cpp), not reasoning (OpenRouter, Ollama, Groq)', () => {
    expect(readChunk(chunk({ reasoning_content: 'hmm' }))).toMatchObject({ events: [{ type: 'reasoning', text: 'hmm' }], echoReasoningAs: 'reasoning_content' });
    expect(readChunk(chunk({ reasoning: 'hmm' })).echoReasoningAs).toBeUndefined();
    // An empty or null field (LiteLLM sends every one) is no reasoning.
    expect(readChunk(chunk({ reasoning_content: null, content: 'a' })).echoReasoningAs).toBeUndefined();
  });
});
