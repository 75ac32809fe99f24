import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createWsSender, type SenderSocket, type WsSenderOptions } from '../../server/views/ws-sender.js';
import type { StreamRecord } from '../../server/streams/hub.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { FrameBody, ServerFrame } from '../../shared/protocol.js';

/**
 * A socket like `ws`'s: `send` buffers the message, `bufferedAmount` counts what is buffered,
 * and each callback runs when the peer has read that message (`read`).
 */
class FakeSocket implements SenderSocket {
  readyState = 1;
  written: string[] = [];
  private buffered: { data: string; cb: (() => void) | undefined }[] = [];
  get bufferedAmount() {
    return this.buffered.reduce((n, m) => n + Buffer.byteLength(m.data), 0);
  }
  send(data: string, cb?: () => void) {
    this.buffered.push({ data, cb });
  }
  /** The peer reads `count` messages (all by default); their callbacks run, as net's do. */
  read(count = Infinity) {
    const done = this.buffered.splice(0, count);
    for (const m of done) {
      this.written.push(m.data);
      m.cb?.();
    }
    return done.length;
  }
  get frames(): ServerFrame[] {
    return this.written.map((json) => {
      const decoded = decodeServerFrame(json);
      if (!decoded.ok) throw new Error(`not a frame: ${json}`);
      return decoded.value;
    });
  }
}

const seqs = new Map<string, number>();
function record(streamId: string, body: FrameBody): StreamRecord {
  const seq = (seqs.get(streamId) ?? -1) + 1;
  seqs.set(streamId, seq);
  const frame = Object.assign({ type: body.type, streamId, seq }, body) as ServerFrame;
  return { frame, json: JSON.stringify(frame) };
}
const token = (streamId: string, text: string) => record(streamId, { type: 'token', text });

function setup(over: Partial<WsSenderOptions> = {}) {
  seqs.clear();
  const socket = new FakeSocket();
  let overflows = 0;
  const sender = createWsSender(socket, { highWaterBytes: 100, maxBufferedBytes: 10_000, onOverflow: () => overflows++, ...over });
  return { socket, sender, overflows: () => overflows };
}

describe('ws sender', () => {
  it('hands frames straight to the socket, unchanged, while its buffer is under the high-water mark', () => {
    const { socket, sender } = setup({ highWaterBytes: 10_000 });
    const records = [token('a', 'x'), token('a', 'y'), token('a', 'z')];
    for (const r of records) sender.record(r);
    expect(sender.queuedFrames).toBe(0);
    socket.read();
    expect(socket.written).toEqual(records.map((r) => r.json));
  });

  it('over the high-water mark, queues and merges consecutive tokens of a stream: text joined, last seq kept', () => {
    const { socket, sender } = setup();
    sender.record(record('a', { type: 'token', text: 'x'.repeat(120) })); // fills the socket past 100 bytes
    for (const text of [' b', ' c', ' d']) sender.record(token('a', text));
    expect(sender.queuedFrames).toBe(1);
    while (socket.read() > 0);
    expect(socket.frames).toEqual([
      { type: 'token', streamId: 'a', seq: 0, text: 'x'.repeat(120) },
      { type: 'token', streamId: 'a', seq: 3, text: ' b c d' },
    ]);
    expect(socket.written[1]).toBe('{"type":"token","streamId":"a","seq":3,"text":" b c d"}');
  });

  it('does not merge tokens across another frame of the same stream', () => {
    const { socket, sender } = setup();
    sender.record(token('a', 'x'.repeat(120)));
    sender.record(token('a', '1'));
    sender.record(record('a', { type: 'tool_call', callId: 'c', name: 't', args: {}, approval: 'not_required' }));
    sender.record(token('a', '2'));
    sender.record(token('a', '3'));
    while (socket.read() > 0);
    expect(socket.frames.map((f) => [f.type, f.seq, f.type === 'token' ? f.text : ''])).toEqual([
      ['token', 0, 'x'.repeat(120)],
      ['token', 1, '1'],
      ['tool_call', 2, ''],
      ['token', 4, '23'],
    ]);
  });

  it('merges per stream when two streams interleave', () => {
    const { socket, sender } = setup();
    sender.record(token('a', 'x'.repeat(120)));
    for (const i of [1, 2, 3]) {
      sender.record(token('a', `a${i}`));
      sender.record(token('b', `b${i}`));
    }
    expect(sender.queuedFrames).toBe(2);
    while (socket.read() > 0);
    expect(socket.frames.slice(1)).toEqual([
      { type: 'token', streamId: 'a', seq: 3, text: 'a1a2a3' },
      { type: 'token', streamId: 'b', seq: 2, text: 'b1b2b3' },
    ]);
  });

  it('drains the queue in order as the socket reports its writes, stopping at the high-water mark again', () => {
    const { socket, sender } = setup({ highWaterBytes: 150 });
    const big = (n: number) => record('a', { type: 'tool_result', callId: `c${n}`, ok: true, result: 'y'.repeat(60) });
    const records = [big(0), big(1), big(2), big(3), big(4)];
    for (const r of records) sender.record(r);
    expect(sender.queuedFrames).toBe(3);
    socket.read(1); // one write completes → room for one more
    expect(sender.queuedFrames).toBe(2);
    while (socket.read() > 0);
    expect(socket.written).toEqual(records.map((r) => r.json));
    expect(sender.bufferedBytes).toBe(0);
  });

  it('keeps a control frame in its place behind queued stream frames', () => {
    const { socket, sender } = setup();
    sender.record(token('a', 'x'.repeat(120)));
    sender.record(token('a', '1'));
    sender.control('{"type":"error","streamId":"-","seq":0,"code":"invalid_frame","message":"m","retryable":false}');
    sender.record(token('a', '2'));
    while (socket.read() > 0);
    expect(socket.frames.map((f) => f.type)).toEqual(['token', 'token', 'error', 'token']);
  });

  it('counts the socket buffer and the queue, and reports overflow once they pass the bound', () => {
    const { sender, overflows } = setup({ maxBufferedBytes: 1_000 });
    sender.record(token('a', 'x'.repeat(120)));
    let sent = 0;
    while (overflows() === 0 && sent < 1_000) {
      sender.record(token('a', 'y'.repeat(10)));
      sent++;
    }
    expect(overflows()).toBe(1);
    expect(sender.bufferedBytes).toBeGreaterThan(1_000);
    expect(sender.bufferedBytes).toBeLessThan(1_000 + 20);
  });

  it('discards a stream’s queued frames, says the first seq dropped, and keeps other streams’ frames', () => {
    const { socket, sender } = setup();
    sender.record(token('a', 'x'.repeat(120)));
    sender.record(token('a', '1'));
    sender.record(token('b', 'b'));
    sender.record(token('a', '2'));
    expect(sender.discard('a')).toBe(1);
    expect(sender.discard('a')).toBeUndefined();
    sender.urgent('{"type":"error","streamId":"a","seq":0,"code":"slow_consumer","message":"m","retryable":true}');
    while (socket.read() > 0);
    expect(socket.frames.map((f) => [f.streamId, f.type, f.seq])).toEqual([
      ['a', 'token', 0],
      ['a', 'error', 0],
      ['b', 'token', 0],
    ]);
  });

  it('writes nothing to a socket that is no longer open', () => {
    const { socket, sender } = setup();
    socket.readyState = 3;
    sender.record(token('a', 'x'));
    expect(socket.read()).toBe(0);
  });

  it('delivers every stream’s text and frames in order, with rising seqs, however the reader keeps up (property)', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('token' as const), stream: fc.constantFrom('a', 'b', 'c'), text: fc.string({ maxLength: 12 }) }),
      fc.record({ kind: fc.constant('result' as const), stream: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('read' as const), count: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: 20, max: 400 }), (steps, highWaterBytes) => {
        const { socket, sender } = setup({ highWaterBytes });
        const sent = new Map<string, ServerFrame[]>();
        for (const s of steps) {
          if (s.kind === 'read') {
            socket.read(s.count);
            continue;
          }
          const r = s.kind === 'token' ? token(s.stream, s.text) : record(s.stream, { type: 'tool_result', callId: 'c', ok: true });
          sent.set(s.stream, [...(sent.get(s.stream) ?? []), r.frame]);
          sender.record(r);
        }
        while (socket.read() > 0);
        expect(sender.queuedFrames).toBe(0);
        for (const [stream, frames] of sent) {
          const got = socket.frames.filter((f) => f.streamId === stream);
          const shape = (list: ServerFrame[]) => {
            // Runs of tokens collapse to their joined text; other frames keep their seq.
            const out: string[] = [];
            let text: string | undefined;
            for (const f of list) {
              if (f.type === 'token') text = (text ?? '') + f.text;
              else {
                if (text !== undefined) out.push(`T:${text}`);
                text = undefined;
                out.push(`R:${f.seq}`);
              }
            }
            if (text !== undefined) out.push(`T:${text}`);
            return out;
          };
          expect(shape(got)).toEqual(shape(frames));
          const gotSeqs = got.map((f) => f.seq);
          expect(gotSeqs).toEqual([...gotSeqs].sort((x, y) => x - y));
          expect(new Set(gotSeqs).size).toBe(gotSeqs.length);
          expect(gotSeqs.at(-1)).toBe(frames.at(-1)?.seq);
        }
      }),
      { numRuns: 300 },
    );
  });
});
