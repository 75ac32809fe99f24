import { describe, expect, it } from 'vitest';
import { createFrameLog } from '../../client/frame-log.js';
import { MAX_TOKEN_GAPS, createStreamClock } from '../../client/stream-stats.js';

describe('stream clock', () => {
  it('leaves the approval wait out of the time to first token, and times the tool call and the round trip apart', () => {
    let t = 1_000;
    const clock = createStreamClock(() => t);
    t += 120;
    clock.toolCall(true); // shown at 120 ms
    t += 2_000;
    clock.decided('c1'); // the person took 2 s
    t += 30;
    clock.toolResult('c1'); // decision → tool_result: 30 ms
    t += 50;
    clock.token(5, true); // first token at 2,200 ms on the wall clock
    t += 10;
    clock.token(5, true);
    const stats = clock.snapshot('ws');
    expect(stats.toolCallMs).toBe(120);
    expect(stats.approvalWaitMs).toBe(2_000);
    expect(stats.approvalRoundTripMs).toBe(30);
    expect(stats.firstTokenMs).toBe(200);
    expect(stats.tokenGapsMs).toEqual([10]);
    expect(stats.payloadBytes).toBe(10);
  });

  it('times a resume from the drop to the first frame after it, and keeps only the latest gaps', () => {
    let t = 0;
    const clock = createStreamClock(() => t);
    for (let i = 0; i < MAX_TOKEN_GAPS + 10; i++) {
      t += i;
      clock.token(1, true);
    }
    expect(clock.snapshot('sse').tokenGapsMs).toHaveLength(MAX_TOKEN_GAPS);
    expect(clock.snapshot('sse').tokenGapsMs.at(-1)).toBe(MAX_TOKEN_GAPS + 9);
    clock.lost();
    t += 300;
    clock.reconnect();
    t += 40;
    clock.frame();
    expect(clock.snapshot('sse')).toMatchObject({ reconnects: 1, resumeMs: 340 });
  });

  it('keeps the last frames of a stream, oldest first', () => {
    const log = createFrameLog(3);
    for (let seq = 0; seq < 5; seq++) log.add({ seq, type: 'token', raw: `f${seq}`, atMs: seq });
    expect(log.list().map((f) => f.seq)).toEqual([2, 3, 4]);
  });
});
