import { describe, expect, it } from 'vitest';
import { createTurnRecorder } from '../../client/turn-messages.js';
import { ChatRequest, LIMITS, type ServerFrameOf } from '../../shared/protocol.js';

const base = { streamId: 'st_1', seq: 1 };
const call = (callId: string, args: Record<string, unknown> = { city: 'Paris' }): ServerFrameOf<'tool_call'> => ({
  type: 'tool_call',
  ...base,
  callId,
  name: 'get_weather',
  args,
  approval: 'required',
  expiresAt: 1,
});
const result = (callId: string, ok = true): ServerFrameOf<'tool_result'> =>
  ok ? { type: 'tool_result', ...base, callId, ok, result: { tempC: 18 } } : { type: 'tool_result', ...base, callId, ok, error: { code: 'denied', message: 'The user denied this call.' } };

describe('turn recorder: a stream as conversation messages', () => {
  it('keeps each step: reasoning, text and calls on the assistant message, then one tool message per result', () => {
    const turn = createTurnRecorder();
    turn.reasoning('Look it ');
    turn.reasoning('up.');
    turn.token('Checking. ');
    turn.toolCall(call('call_a'));
    turn.toolCall(call('call_b', { city: 'Oslo' }));
    turn.toolResult(result('call_a'));
    turn.toolResult(result('call_b', false));
    turn.reasoning('Done.');
    turn.token('It is 18 °C.');
    const messages = turn.messages();
    expect(messages).toEqual([
      {
        role: 'assistant',
        content: 'Checking. ',
        reasoning: 'Look it up.',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_b', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        ],
      },
      { role: 'tool', toolCallId: 'call_a', content: '{"ok":true,"result":{"tempC":18}}' },
      { role: 'tool', toolCallId: 'call_b', content: '{"ok":false,"error":{"code":"denied","message":"The user denied this call."}}' },
      { role: 'assistant', content: 'It is 18 °C.', reasoning: 'Done.' },
    ]);
    // What it records is a valid request once a user message follows.
    expect(ChatRequest.safeParse({ messages: [{ role: 'user', content: 'q' }, ...messages, { role: 'user', content: 'next' }] }).success).toBe(true);
  });

  it('starts a new step for a call right after results, and leaves out a call without its result and a result without its call', () => {
    const turn = createTurnRecorder();
    turn.toolCall(call('call_a'));
    turn.toolResult(result('call_a'));
    turn.toolCall(call('call_b'));
    turn.toolResult(result('call_unshown', false));
    expect(turn.messages()).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', toolCallId: 'call_a', content: '{"ok":true,"result":{"tempC":18}}' },
    ]);
  });

  it('tells the model of an edited or refused call in the server\'s words: the frame without its envelope', () => {
    const turn = createTurnRecorder();
    turn.toolCall(call('call_a'));
    turn.toolResult({ type: 'tool_result', ...base, callId: 'call_a', ok: true, result: { tempC: 3 }, edited: true, args: { city: 'Oslo' } });
    expect(turn.messages()[1]).toEqual({ role: 'tool', toolCallId: 'call_a', content: '{"ok":true,"result":{"tempC":3},"edited":true,"args":{"city":"Oslo"}}' });
  });

  it('never records an empty assistant message, and cuts a text too long to send back', () => {
    expect(createTurnRecorder().messages()).toEqual([]);
    const turn = createTurnRecorder();
    turn.token('x'.repeat(LIMITS.messageChars + 10));
    const [only] = turn.messages();
    expect(only?.content).toHaveLength(LIMITS.messageChars);
    expect(only?.content.endsWith('[cut to fit the request limit]')).toBe(true);
  });
});
