import { describe, expect, it } from 'vitest';
import { coalesceTokens } from '../../server/views/sse.js';
import type { StreamRecord } from '../../server/streams/hub.js';
import type { ServerFrame } from '../../shared/protocol.js';

const rec = (frame: ServerFrame): StreamRecord => ({ frame, json: JSON.stringify(frame) });
const token = (seq: number, text: string) => rec({ type: 'token', streamId: 's', seq, text });

describe('coalesceTokens', () => {
  it('merges each run of consecutive tokens into one frame with the run’s last seq', () => {
    const out = coalesceTokens([
      token(1, 'a'),
      token(2, 'b'),
      token(3, 'c'),
      rec({ type: 'tool_call', streamId: 's', seq: 4, callId: 'c', name: 'n', args: {}, approval: 'not_required' }),
      token(5, 'd'),
      rec({ type: 'done', streamId: 's', seq: 6, reason: 'stop' }),
    ]);
    expect(out).toBe(
      'id: 3\nevent: token\ndata: {"type":"token","streamId":"s","seq":3,"text":"abc"}\n\n' +
        `id: 4\nevent: tool_call\ndata: {"type":"tool_call","streamId":"s","seq":4,"callId":"c","name":"n","args":{},"approval":"not_required"}\n\n` +
        'id: 5\nevent: token\ndata: {"type":"token","streamId":"s","seq":5,"text":"d"}\n\n' +
        'id: 6\nevent: done\ndata: {"type":"done","streamId":"s","seq":6,"reason":"stop"}\n\n',
    );
  });

  it('leaves a single token as it was', () => {
    expect(coalesceTokens([token(1, 'x')])).toBe(`id: 1\nevent: token\ndata: ${JSON.stringify({ type: 'token', streamId: 's', seq: 1, text: 'x' })}\n\n`);
  });
});
