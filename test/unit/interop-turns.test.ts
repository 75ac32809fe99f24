import { describe, expect, it } from 'vitest';
import type { RunAgentInput } from '@ag-ui/core';
import { toChatRequest as agUiChatRequest } from '../../server/service/interop/ag-ui-request.js';
import { uiMessageToChat } from '../../server/service/interop/ui-message-turns.js';

describe('AI SDK UI message parts as chat messages', () => {
  it('splits an assistant message into its steps: text, reasoning and tool calls, then each outcome', () => {
    const messages = uiMessageToChat({
      role: 'assistant',
      parts: [
        { type: 'step-start' },
        { type: 'reasoning', text: 'Two cities.' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool-get_weather', toolCallId: 'c1', state: 'output-available', input: { city: 'Paris' }, output: { tempC: 18 } },
        { type: 'dynamic-tool', toolName: 'lookup', toolCallId: 'c2', state: 'output-error', input: { q: 'x' }, errorText: 'Timed out.' },
        { type: 'step-start' },
        { type: 'tool-get_weather', toolCallId: 'c3', state: 'output-denied', input: { city: 'Oslo' }, approval: { id: 'c3', approved: false, reason: 'privacy' } },
        { type: 'step-start' },
        { type: 'text', text: 'Paris is mild.' },
        { type: 'source-url', sourceId: 's', url: 'https://example.com' },
      ] as { type: string }[],
    });
    expect(messages).toEqual([
      {
        role: 'assistant',
        content: 'Checking.',
        reasoning: 'Two cities.',
        toolCalls: [
          { id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'c2', name: 'lookup', arguments: '{"q":"x"}' },
        ],
      },
      { role: 'tool', toolCallId: 'c1', content: '{"ok":true,"result":{"tempC":18}}' },
      { role: 'tool', toolCallId: 'c2', content: '{"ok":false,"error":{"code":"tool_failed","message":"Timed out."}}' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c3', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
      { role: 'tool', toolCallId: 'c3', content: '{"ok":false,"error":{"code":"denied","message":"The user denied this call: privacy."}}' },
      { role: 'assistant', content: 'Paris is mild.' },
    ]);
  });

  it('leaves out a call without an outcome, and never yields an empty assistant message', () => {
    const messages = uiMessageToChat({
      role: 'assistant',
      parts: [
        { type: 'step-start' },
        { type: 'tool-get_weather', toolCallId: 'c1', state: 'approval-requested', input: { city: 'Paris' }, approval: { id: 'c1' } },
        { type: 'step-start' },
      ] as { type: string }[],
    });
    expect(messages).toEqual([]);
    expect(uiMessageToChat({ role: 'user', parts: [{ type: 'text', text: 'a' }, { type: 'file' }, { type: 'text', text: 'b' }] as { type: string }[] })).toEqual([{ role: 'user', content: 'ab' }]);
  });
});

describe('AG-UI thread messages as chat messages', () => {
  const run = (messages: unknown[]): RunAgentInput => ({ threadId: 't', runId: 'r', state: {}, tools: [], context: [], forwardedProps: {}, messages }) as RunAgentInput;

  it('keeps assistant tool calls with the reasoning just before them, and tool messages by their call id', () => {
    const request = agUiChatRequest(
      run([
        { id: '1', role: 'developer', content: 'Be brief.' },
        { id: '2', role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
        { id: '3', role: 'reasoning', content: 'Look it up.' },
        { id: '4', role: 'assistant', toolCalls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { id: '5', role: 'tool', toolCallId: 'c1', content: '', error: 'The tool failed.' },
        { id: '6', role: 'activity', activityType: 'x', content: {} },
        { id: '7', role: 'assistant', content: 'Sorry.' },
      ]),
    );
    expect(request).toEqual({
      ok: true,
      value: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: '', reasoning: 'Look it up.', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
          { role: 'tool', toolCallId: 'c1', content: 'The tool failed.' },
          { role: 'assistant', content: 'Sorry.' },
        ],
      },
    });
  });

  it('refuses a tool message that answers no earlier call', () => {
    const request = agUiChatRequest(run([{ id: '1', role: 'user', content: 'hi' }, { id: '2', role: 'tool', toolCallId: 'nobody', content: '{}' }]));
    expect(request).toEqual({ ok: false, message: expect.stringContaining('must answer a tool call of an earlier assistant message') });
  });
});
