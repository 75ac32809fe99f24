import { EventType } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import { describe, expect, it } from 'vitest';
import { continuationRunId, createAgUiRuns } from '../../server/views/mappers/ag-ui-runs.js';
import type { ServerFrame } from '../../shared/protocol.js';

// The AG-UI runs of one stream over a connection that stays open (the WebSocket view), fed
// hand-built frames: an approval ends a run, the next frame starts the continuation run.

const S = 'st_unit';
const RUN = { threadId: 'th', runId: 'r1' };

function script(): ServerFrame[] {
  let seq = 0;
  const f = (body: Record<string, unknown>): ServerFrame => ({ streamId: S, seq: seq++, ...body }) as ServerFrame;
  return [
    f({ type: 'start', protocol: 2, model: 'm-1', transport: 'ws' }),
    f({ type: 'token', text: 'Let me check.' }),
    f({ type: 'tool_call', callId: 'call_1', name: 'get_weather', args: { city: 'Paris' }, approval: 'required', expiresAt: 1_000 }),
    f({ type: 'tool_result', callId: 'call_1', ok: true, result: { temperatureC: 12 } }),
    f({ type: 'token', text: 'It is 12 °C.' }),
    f({ type: 'done', reason: 'stop' }),
  ];
}

describe('AG-UI runs over an open connection', () => {
  it('ends a run at the interrupt and continues the stream in run <runId>:<callId>', () => {
    const runs = createAgUiRuns(RUN);
    const events = script().flatMap((frame) => runs.next(frame));
    expect(events.map((e) => e.type)).toEqual([
      EventType.RUN_STARTED, EventType.TEXT_MESSAGE_START, EventType.TEXT_MESSAGE_CONTENT, EventType.TEXT_MESSAGE_END,
      EventType.TOOL_CALL_START, EventType.TOOL_CALL_ARGS, EventType.TOOL_CALL_END, EventType.RUN_FINISHED,
      EventType.RUN_STARTED, EventType.TOOL_CALL_RESULT, EventType.TEXT_MESSAGE_START, EventType.TEXT_MESSAGE_CONTENT, EventType.TEXT_MESSAGE_END, EventType.RUN_FINISHED,
    ]);
    expect(events[7]).toMatchObject({ runId: 'r1', outcome: { type: 'interrupt', interrupts: [{ id: 'call_1', toolCallId: 'call_1' }] } });
    expect(events[8]).toEqual({ type: EventType.RUN_STARTED, threadId: 'th', runId: continuationRunId('r1', 'call_1') });
    expect(events.at(-1)).toMatchObject({ runId: 'r1:call_1', outcome: { type: 'success' } });
    expect(events.every((e) => EventSchema.safeParse(e).success)).toBe(true);
  });

  it('after skipping to a pending approval, idle says the interrupt again; a later frame starts the continuation without it', () => {
    const frames = script();
    const atInterrupt = createAgUiRuns(RUN);
    frames.slice(0, 3).forEach((frame) => atInterrupt.absorb(frame));
    expect(atInterrupt.idle().map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.RUN_FINISHED]);
    expect(atInterrupt.idle()).toEqual([]);

    const decided = createAgUiRuns(RUN);
    frames.slice(0, 3).forEach((frame) => decided.absorb(frame));
    expect(decided.next(frames[3]!).map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TOOL_CALL_RESULT]);
  });

  it('mid-message, the first new frame re-opens the message; after the end, the run’s start and end are said again', () => {
    const frames = script();
    const mid = createAgUiRuns(RUN);
    frames.slice(0, 2).forEach((frame) => mid.absorb(frame));
    expect(mid.opened).toBe(false);
    expect(mid.next(frames[2]!).slice(0, 3)).toEqual([
      { type: EventType.RUN_STARTED, ...RUN },
      { type: EventType.TEXT_MESSAGE_START, messageId: `${S}-1`, role: 'assistant' },
      { type: EventType.TEXT_MESSAGE_END, messageId: `${S}-1` },
    ]);

    const ended = createAgUiRuns(RUN);
    frames.forEach((frame) => ended.absorb(frame));
    expect(ended.next(frames.at(-1)!)).toEqual([
      { type: EventType.RUN_STARTED, threadId: 'th', runId: 'r1:call_1' },
      { type: EventType.RUN_FINISHED, threadId: 'th', runId: 'r1:call_1', outcome: { type: 'success' } },
    ]);
  });
});
