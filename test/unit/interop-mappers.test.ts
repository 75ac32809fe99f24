import { EventType, HttpAgent, type BaseEvent } from '@ag-ui/client';
import { EventSchema } from '@ag-ui/core/schemas';
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { TokenwireError } from '../../shared/errors.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { createAgUiMapper, encodeAgUiEvent } from '../../server/views/mappers/ag-ui.js';
import { createUiMessageMapper } from '../../server/views/mappers/ai-sdk-ui-stream.js';
import type { ProtocolMapper } from '../../server/views/mappers/mapper.js';

// Both mappers, fed hand-built frames. `reasoning` frames were added after the first version; they are built by
// hand here so the mapping is tested before and after that frame joins shared/protocol.ts.

const S = 'st_unit';
let seq = 0;
const f = (body: Record<string, unknown>): ServerFrame => ({ streamId: S, seq: seq++, ...body }) as ServerFrame;

function script(): ServerFrame[] {
  seq = 0;
  return [
    f({ type: 'start', protocol: 1, model: 'm-1', transport: 'sse' }),
    f({ type: 'reasoning', text: 'Think ' }),
    f({ type: 'reasoning', text: 'first.' }),
    f({ type: 'token', text: 'Let me ' }),
    f({ type: 'token', text: 'check.' }),
    f({ type: 'tool_call', callId: 'call_1', name: 'get_weather', args: { city: 'Paris' }, approval: 'not_required' }),
    f({ type: 'tool_result', callId: 'call_1', ok: true, result: { city: 'Paris', temperatureC: 12 } }),
    f({ type: 'token', text: 'It is 12 °C.' }),
    f({ type: 'done', reason: 'stop', usage: { promptTokens: 5, completionTokens: 4, totalTokens: 9, reasoningTokens: 2 } }),
  ];
}

const run = <E>(mapper: ProtocolMapper<E>, frames: ServerFrame[]) => [...mapper.open(), ...frames.flatMap((frame) => mapper.map(frame))];

describe('AI SDK UI message mapper', () => {
  it('maps reasoning, text, a tool round (as a new step) and finish; the AI SDK reader builds the message', async () => {
    const chunks = run(createUiMessageMapper({ messageId: 'msg-1' }), script());
    expect(chunks.map((c) => c.type)).toEqual([
      'start', 'start-step', 'reasoning-start', 'reasoning-delta', 'reasoning-delta', 'reasoning-end', 'text-start', 'text-delta', 'text-delta',
      'text-end', 'tool-input-available', 'tool-output-available', 'finish-step', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish',
    ]);
    let message: UIMessage | undefined;
    const stream = new ReadableStream<UIMessageChunk>({ start: (c) => (chunks.forEach((chunk) => c.enqueue(chunk)), c.close()) });
    for await (const snapshot of readUIMessageStream({ stream })) message = snapshot;
    expect(message!.id).toBe('msg-1');
    expect(message!.parts.filter((p) => p.type !== 'step-start')).toEqual([
      expect.objectContaining({ type: 'reasoning', text: 'Think first.' }),
      expect.objectContaining({ type: 'text', text: 'Let me check.' }),
      expect.objectContaining({ type: 'tool-get_weather', state: 'output-available', output: { city: 'Paris', temperatureC: 12 } }),
      expect.objectContaining({ type: 'text', text: 'It is 12 °C.' }),
    ]);
  });

  it('re-opens the parts that are open when a view starts mid-stream', () => {
    const mapper = createUiMessageMapper({ messageId: 'msg-1' });
    for (const frame of script().slice(0, 5)) mapper.map(frame);
    expect(mapper.open()).toEqual([{ type: 'start', messageId: 'msg-1' }, { type: 'start-step' }, { type: 'text-start', id: 'text-3' }]);
  });

  it('an approval request pauses with finish "tool-calls"; a denial is tool-output-denied; cancel is abort', () => {
    seq = 0;
    const mapper = createUiMessageMapper({ messageId: 'm' });
    mapper.map(f({ type: 'start', protocol: 1, model: 'm', transport: 'sse' }));
    expect(mapper.map(f({ type: 'tool_call', callId: 'c1', name: 't', args: {}, approval: 'required', expiresAt: 1 }))).toContainEqual({
      type: 'tool-approval-request', approvalId: 'c1', toolCallId: 'c1',
    });
    expect(mapper.state).toBe('awaiting_approval');
    expect(mapper.awaitingCallId).toBe('c1');
    const resumed = createUiMessageMapper({ messageId: 'm' });
    resumed.map(f({ type: 'tool_call', callId: 'c1', name: 't', args: {}, approval: 'required', expiresAt: 1 }));
    expect(resumed.map(f({ type: 'tool_result', callId: 'c1', ok: false, error: { code: 'denied', message: 'no' } }))).toEqual([{ type: 'tool-output-denied', toolCallId: 'c1' }]);
    expect(resumed.state).toBe('running');
    // A call refused before it was shown has no part to attach to.
    expect(resumed.map(f({ type: 'tool_result', callId: 'c2', ok: false, error: { code: 'unknown_tool', message: 'x' } }))).toEqual([]);
    expect(resumed.map(f({ type: 'done', reason: 'cancelled' })).at(-1)).toEqual({ type: 'abort', reason: 'cancelled' });
    expect(mapper.pause()).toEqual([{ type: 'finish-step' }, { type: 'finish', finishReason: 'tool-calls' }]);
  });
});

describe('AG-UI mapper', () => {
  const ids = { threadId: 't-1', runId: 'r-1' };

  it('maps reasoning, text, tool call and result, and RUN_FINISHED with usage; every event passes AG-UI’s schema', () => {
    const events = run(createAgUiMapper(ids), script());
    expect(events.map((e) => e.type)).toEqual([
      'RUN_STARTED', 'REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_MESSAGE_CONTENT', 'REASONING_MESSAGE_CONTENT', 'REASONING_MESSAGE_END', 'REASONING_END',
      'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'TOOL_CALL_START', 'TOOL_CALL_ARGS', 'TOOL_CALL_END',
      'TOOL_CALL_RESULT', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED',
    ]);
    for (const event of events) expect(EventSchema.safeParse(event).success, event.type).toBe(true);
    expect(events[11]).toEqual({ type: EventType.TOOL_CALL_START, toolCallId: 'call_1', toolCallName: 'get_weather', parentMessageId: `${S}-3` });
    expect(events.at(-1)).toEqual({
      type: EventType.RUN_FINISHED, ...ids, outcome: { type: 'success' }, usage: [{ model: 'm-1', inputTokens: 5, outputTokens: 4, totalTokens: 9, reasoningTokens: 2 }],
    });
  });

  it('HttpAgent verifies and applies the mapped run, reasoning included', async () => {
    const body = run(createAgUiMapper(ids), script()).map((e, i) => encodeAgUiEvent(e, i)).join('');
    const agent = new HttpAgent({ url: 'http://unit.invalid/', threadId: 't-1', fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }) });
    const seen: BaseEvent[] = [];
    await agent.runAgent({ runId: 'r-1' }, { onEvent: ({ event }) => void seen.push(event) });
    expect(seen).toHaveLength(19);
    expect(agent.messages.map((m) => [m.role, m.content])).toEqual([
      ['reasoning', 'Think first.'],
      ['assistant', 'Let me check.'],
      ['tool', JSON.stringify({ city: 'Paris', temperatureC: 12 })],
      ['assistant', 'It is 12 °C.'],
    ]);
  });

  it('pauses at an approval with an interrupt that carries the expiry; re-opens reasoning mid-stream; view errors are RUN_ERROR', () => {
    seq = 0;
    const mapper = createAgUiMapper(ids);
    mapper.map(f({ type: 'reasoning', text: 'hmm' }));
    expect(mapper.open().map((e) => e.type)).toEqual(['RUN_STARTED', 'REASONING_START', 'REASONING_MESSAGE_START']);
    mapper.map(f({ type: 'tool_call', callId: 'c1', name: 'get_weather', args: { city: 'Oslo' }, approval: 'required', expiresAt: Date.UTC(2030, 0, 1) }));
    expect(mapper.state).toBe('awaiting_approval');
    expect(mapper.pause()).toEqual([
      {
        type: EventType.RUN_FINISHED, ...ids,
        outcome: {
          type: 'interrupt',
          interrupts: [{ id: 'c1', reason: 'tool_approval', message: 'Approve get_weather?', toolCallId: 'c1', expiresAt: '2030-01-01T00:00:00.000Z', metadata: { tool: 'get_weather', args: { city: 'Oslo' } } }],
        },
      },
    ]);
    expect(createAgUiMapper(ids).fail(new TokenwireError('slow_consumer'))).toEqual([{ type: EventType.RUN_ERROR, code: 'slow_consumer', message: 'The client did not keep up with the stream.' }]);
    const cancelled = createAgUiMapper(ids);
    expect(cancelled.map(f({ type: 'done', reason: 'cancelled' }))).toEqual([{ type: EventType.RUN_FINISHED, ...ids, outcome: { type: 'cancelled' } }]);
  });
});
