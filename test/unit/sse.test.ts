import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrameSse } from '../../shared/frame-codec.js';
import { createSseParser, encodeSse, encodeSseComment, type SseEvent } from '../../shared/sse.js';

function parseAll(chunks: (string | Uint8Array)[]) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const parser = createSseParser({
    onEvent: (e) => events.push(e),
    onRetry: (ms) => retries.push(ms),
    onComment: (c) => comments.push(c),
  });
  for (const chunk of chunks) parser.feed(chunk);
  return { events, retries, comments };
}

const bytes = (text: string) => new TextEncoder().encode(text);

/** Splits `data` at the given cut points (sorted, deduplicated, inside the range). */
function splitAt<T extends { slice(a: number, b?: number): T; length: number }>(data: T, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: T[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(data.slice(from, p));
    from = p;
  }
  parts.push(data.slice(from));
  return parts;
}

describe('encodeSse', () => {
  it('writes exact bytes for id, event, multi-line data and retry', () => {
    expect(encodeSse({ id: 7, event: 'token', data: 'a\nb\r\nc', retry: 1500 })).toBe(
      'retry: 1500\nid: 7\nevent: token\ndata: a\ndata: b\ndata: c\n\n',
    );
  });

  it('writes comments line by line', () => {
    expect(encodeSseComment('hb')).toBe(': hb\n\n');
    expect(encodeSse({ comment: 'one\ntwo' })).toBe(': one\n: two\n\n');
  });

  it('refuses an id or event that would break the framing', () => {
    expect(() => encodeSse({ id: 'a\nb', data: 'x' })).toThrow(TypeError);
    expect(() => encodeSse({ event: 'a\rb', data: 'x' })).toThrow(TypeError);
    expect(() => encodeSse({ retry: -1 })).toThrow(TypeError);
  });

  it('pins the exact bytes of a frame', () => {
    const json = '{"type":"token","streamId":"st_1","seq":3,"text":"hi"}';
    expect(encodeFrameSse({ seq: 3, type: 'token' }, json)).toBe(`id: 3\nevent: token\ndata: ${json}\n\n`);
  });
});

describe('createSseParser follows the WHATWG parsing rules', () => {
  it('accepts LF, CRLF and CR line ends alike', () => {
    for (const nl of ['\n', '\r\n', '\r']) {
      const { events } = parseAll([`id: 1${nl}event: token${nl}data: x${nl}${nl}`]);
      expect(events).toEqual([{ id: '1', event: 'token', data: 'x' }]);
    }
  });

  it('dispatches a CR-terminated event at once, without waiting to see if LF follows', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (e) => events.push(e) });
    parser.feed('data: now\r\r');
    expect(events.map((e) => e.data)).toEqual(['now']);
    parser.feed('\ndata: next\r\n\r\n');
    expect(events.map((e) => e.data)).toEqual(['now', 'next']);
  });

  it('drops a leading BOM, as text and as bytes', () => {
    expect(parseAll(['\uFEFFdata: a\n\n']).events).toEqual([{ data: 'a', id: undefined, event: undefined }]);
    expect(parseAll([new Uint8Array([0xef, 0xbb]), new Uint8Array([0xbf, ...bytes('data: a\n\n')])]).events).toEqual([
      { data: 'a', id: undefined, event: undefined },
    ]);
  });

  it('reads fields with and without the space after the colon', () => {
    const { events } = parseAll(['data:a\ndata: b\ndata:  c\n\n']);
    expect(events[0]?.data).toBe('a\nb\n c');
  });

  it('joins multi-line data with \\n and ignores comments', () => {
    const { events, comments } = parseAll([': hello\ndata: one\n: mid\ndata: two\n\n']);
    expect(events.map((e) => e.data)).toEqual(['one\ntwo']);
    expect(comments).toEqual(['hello', 'mid']);
  });

  it('takes retry only when it is all digits', () => {
    const { retries } = parseAll(['retry: 1000\n\nretry: 10a\n\nretry: -5\n\nretry: 2000\n\n']);
    expect(retries).toEqual([1000, 2000]);
  });

  it('ignores an id that contains NUL', () => {
    const { events } = parseAll(['id: 5\ndata: a\n\nid: 6\0x\ndata: b\n\n']);
    expect(events.map((e) => e.id)).toEqual(['5', '5']);
  });

  it('dispatches nothing for an event with no data', () => {
    expect(parseAll(['event: token\n\n: only a comment\n\n']).events).toEqual([]);
  });

  it('stops at its buffer bound and says so once', () => {
    const errors: Error[] = [];
    const parser = createSseParser({ onEvent: () => {}, onError: (e) => errors.push(e) }, { maxBufferSize: 64 });
    parser.feed(`data: ${'x'.repeat(100)}`);
    parser.feed('more');
    expect(errors).toHaveLength(1);
    parser.reset();
    const events: SseEvent[] = [];
    const fresh = createSseParser({ onEvent: (e) => events.push(e) }, { maxBufferSize: 64 });
    fresh.feed('data: ok\n\n');
    expect(events).toHaveLength(1);
  });
});

describe('createSseParser gives the same events however the input is split', () => {
  // Event text with awkward characters: multi-byte UTF-8 (2, 3 and 4 bytes), CR, LF, colons.
  const text = fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', ':', ' ', 'z', '\r', '\n', '\r\n'), maxLength: 40 });
  const message = fc.record({
    id: fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined }),
    event: fc.option(fc.constantFrom('token', 'done', 'message'), { nil: undefined }),
    data: text,
    comment: fc.option(fc.constantFrom('hb', 'ping'), { nil: undefined }),
  });
  const stream = fc.record({
    lineEnd: fc.constantFrom('\n', '\r\n', '\r'),
    messages: fc.array(message, { minLength: 1, maxLength: 8 }),
  });
  type Stream = typeof stream extends fc.Arbitrary<infer T> ? T : never;
  const encode = ({ lineEnd, messages }: Stream) =>
    messages
      .map((m) =>
        encodeSse({
          data: m.data,
          ...(m.id !== undefined ? { id: m.id } : {}),
          ...(m.event !== undefined ? { event: m.event } : {}),
          ...(m.comment !== undefined ? { comment: m.comment } : {}),
        }),
      )
      .join('')
      .replace(/\n/g, lineEnd);

  it('as bytes split anywhere, inside UTF-8 characters and between CR and LF', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (s, cuts) => {
        const whole = bytes(encode(s));
        const expected = parseAll([whole]);
        const split = parseAll(splitAt(whole, cuts));
        expect(split).toEqual(expected);
        expect(expected.events).toHaveLength(s.messages.length);
      }),
      { numRuns: 400 },
    );
  });

  it('one byte at a time', () => {
    fc.assert(
      fc.property(stream, (s) => {
        const whole = bytes(encode(s));
        const oneByOne = [...whole].map((b) => new Uint8Array([b]));
        expect(parseAll(oneByOne)).toEqual(parseAll([whole]));
      }),
      { numRuns: 100 },
    );
  });

  it('as text split anywhere', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (s, cuts) => {
        const whole = encode(s);
        expect(parseAll(splitAt(whole, cuts))).toEqual(parseAll([whole]));
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips the data of every message, line ends normalised to \\n', () => {
    fc.assert(
      fc.property(stream, (s) => {
        const { events } = parseAll([bytes(encode(s))]);
        expect(events.map((e) => e.data)).toEqual(s.messages.map((m) => m.data.replace(/\r\n|\r/g, '\n')));
      }),
      { numRuns: 200 },
    );
  });
});
