import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { decodeClientFrame, decodeServerFrame } from '../../shared/frame-codec.js';
import { ChatRequest, PROTOCOL_MINOR, PROTOCOL_VERSION, ServerFrame } from '../../shared/protocol.js';

describe('protocol schemas', () => {
  it('accept every server frame type and reject unknown ones', () => {
    const base = { streamId: 'st_1', seq: 0 };
    const frames = [
      { type: 'start', ...base, protocol: PROTOCOL_VERSION, model: 'm', transport: 'sse' },
      { type: 'start', ...base, protocol: PROTOCOL_VERSION, protocolMinor: PROTOCOL_MINOR, model: 'm', transport: 'sse' },
      { type: 'token', ...base, text: 'hi' },
      { type: 'reasoning', ...base, text: 'hmm' },
      { type: 'tool_call', ...base, callId: 'c', name: 'get_weather', args: { city: 'Paris' }, approval: 'required', expiresAt: 1 },
      { type: 'tool_result', ...base, callId: 'c', ok: true, result: { t: 1 } },
      { type: 'error', ...base, code: 'upstream_error', message: 'x', retryable: true },
      { type: 'done', ...base, reason: 'stop', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
      { type: 'done', ...base, reason: 'stop', usage: { promptTokens: 1, completionTokens: 5, totalTokens: 6, reasoningTokens: 3 } },
    ];
    for (const frame of frames) expect(ServerFrame.safeParse(frame).success).toBe(true);
    expect(ServerFrame.safeParse({ type: 'nope', ...base }).success).toBe(false);
    expect(ServerFrame.safeParse({ type: 'token', streamId: 'st_1', seq: -1, text: '' }).success).toBe(false);
  });

  it('rejects chat requests that are empty, too long or carry unknown fields', () => {
    expect(ChatRequest.safeParse({ messages: [] }).success).toBe(false);
    expect(ChatRequest.safeParse({ messages: [{ role: 'user', content: 'x'.repeat(32_001) }] }).success).toBe(false);
    expect(ChatRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], extra: 1 }).success).toBe(false);
    expect(ChatRequest.safeParse({ messages: [{ role: 'tool', content: 'hi' }] }).success).toBe(false);
    expect(ChatRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], tools: ['get_weather'] }).success).toBe(true);
  });
});

describe('frame codec', () => {
  it('never throws on untrusted text and says what is wrong', () => {
    expect(decodeClientFrame('{not json')).toEqual({ ok: false, message: 'not JSON' });
    const unknownType = decodeClientFrame('{"type":"launch"}');
    expect(unknownType.ok).toBe(false);
    const badField = decodeClientFrame('{"type":"cancel","streamId":5}');
    expect(badField).toMatchObject({ ok: false, message: expect.stringContaining('streamId') });
    expect(decodeClientFrame('{"type":"approve","callId":"call_1"}')).toEqual({ ok: true, value: { type: 'approve', callId: 'call_1' } });
    expect(decodeServerFrame('null').ok).toBe(false);
  });
});

describe('errors', () => {
  it('every code has a status, a retry flag and a safe message', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.message.length, code).toBeGreaterThan(0);
    }
  });

  it('normalises anything thrown without leaking its message', () => {
    const error = toTokenwireError(new Error('password=hunter2 at db.internal'));
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('hunter2');
    expect(error.cause).toBeInstanceOf(Error);
    const known = new TokenwireError('slow_consumer');
    expect(toTokenwireError(known)).toBe(known);
    expect(known.toJSON()).toEqual({ error: { code: 'slow_consumer', message: ERROR_CODES.slow_consumer.message } });
  });
});
