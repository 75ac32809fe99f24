import { describe, expect, it } from 'vitest';
import { decodeWsMessage, errorFrameJson, NO_STREAM } from '../../server/views/ws-frames.js';
import { TokenwireError } from '../../shared/errors.js';
import { decodeServerFrame } from '../../shared/frame-codec.js';

const text = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const failure = (data: unknown, isBinary = false) => {
  const decoded = decodeWsMessage(data, isBinary);
  if (decoded.ok) throw new Error('expected a failure');
  return decoded;
};

describe('decodeWsMessage', () => {
  it('decodes every client frame type from a text Buffer, as ws delivers it', () => {
    const frames = [
      { type: 'start', id: 'c1', messages: [{ role: 'user', content: 'hi' }], tools: ['get_weather'] },
      { type: 'approve', callId: 'call_1' },
      { type: 'deny', callId: 'call_1', reason: 'no' },
      { type: 'cancel', streamId: 'st_1' },
      { type: 'resume', streamId: 'st_1', lastSeq: -1 },
    ];
    for (const frame of frames) expect(decodeWsMessage(text(frame), false)).toEqual({ ok: true, frame });
  });

  it('decodes a plain string and fragments (Buffer[]) the same way', () => {
    const frame = { type: 'cancel', streamId: 'st_1' };
    const json = JSON.stringify(frame);
    expect(decodeWsMessage(json, undefined)).toEqual({ ok: true, frame });
    expect(decodeWsMessage([Buffer.from(json.slice(0, 5)), Buffer.from(json.slice(5))], false)).toEqual({ ok: true, frame });
  });

  it('refuses a binary message as invalid_frame, even when it holds valid JSON', () => {
    const decoded = failure(text({ type: 'cancel', streamId: 'st_1' }), true);
    expect(decoded.error.code).toBe('invalid_frame');
    expect(decoded.error.message).toMatch(/binary/i);
  });

  it('says when the text is not JSON', () => {
    const decoded = failure(text('{"type": "start",'));
    expect(decoded.error).toMatchObject({ code: 'invalid_frame', message: 'The message is not JSON.' });
    expect(decoded.ref).toBeUndefined();
  });

  it('names an unknown type and lists the known ones', () => {
    const decoded = failure(text({ type: 'subscribe', streamId: 'st_1' }));
    expect(decoded.error.code).toBe('invalid_frame');
    expect(decoded.error.message).toContain('"subscribe"');
    expect(decoded.error.message).toContain('start, approve, deny, cancel, resume');
  });

  it('treats JSON that is not an object (or has no type) as an unknown type', () => {
    for (const value of [42, null, [], 'start', {}]) {
      expect(failure(Buffer.from(JSON.stringify(value))).error.message).toMatch(/^Unknown frame type/);
    }
  });

  it('says which field of a known type failed, and routes a broken start to its client id', () => {
    const decoded = failure(text({ type: 'start', id: 'c7', messages: [] }));
    expect(decoded.error.code).toBe('invalid_frame');
    expect(decoded.error.message).toMatch(/^The start frame is not valid: .* at messages\.$/);
    expect(decoded.ref).toBe('c7');
  });

  it('routes a broken cancel or resume to its stream id, but never echoes an id the schema would refuse', () => {
    expect(failure(text({ type: 'resume', streamId: 'st_1', lastSeq: -5 })).ref).toBe('st_1');
    expect(failure(text({ type: 'cancel', streamId: 'st_1', extra: true })).ref).toBe('st_1');
    expect(failure(text({ type: 'cancel', streamId: 'x'.repeat(65), extra: 1 })).ref).toBeUndefined();
    expect(failure(text({ type: 'approve', callId: 7 })).ref).toBeUndefined();
  });
});

describe('errorFrameJson', () => {
  it('builds a valid server error frame on the stream-less marker, seq 0', () => {
    const decoded = decodeServerFrame(errorFrameJson(new TokenwireError('invalid_frame', 'bad')));
    expect(decoded).toEqual({
      ok: true,
      value: { type: 'error', streamId: NO_STREAM, seq: 0, code: 'invalid_frame', message: 'bad', retryable: false },
    });
  });

  it('names a stream and its last delivered seq, never a negative seq', () => {
    expect(JSON.parse(errorFrameJson(new TokenwireError('slow_consumer'), 'st_1', 41))).toMatchObject({ streamId: 'st_1', seq: 41, retryable: true });
    expect(JSON.parse(errorFrameJson(new TokenwireError('slow_consumer'), 'st_1', -1))).toMatchObject({ seq: 0 });
  });
});
