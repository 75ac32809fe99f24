import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { textFrame } from '../../server/views/ws-text-frame.js';

/** `ws`'s frame parser (a named export at runtime; @types/ws leaves it out). */
interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(bytes: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver };

/** Parses bytes as a client does (the `ws` library's own receiver: unmasked server frames). */
function receive(bytes: Buffer): { texts: string[]; errors: Error[] } {
  const texts: string[] = [];
  const errors: Error[] = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) => texts.push(isBinary ? '<binary>' : data.toString('utf8')));
  receiver.on('error', (error: Error) => errors.push(error));
  receiver.write(bytes);
  return { texts, errors };
}

describe('textFrame (RFC 6455 §5.2 server text frame)', () => {
  it('is read back by the ws receiver at every payload-length form: 7, 16 and 64 bits', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = 'x'.repeat(length);
      const frame = textFrame(text);
      expect(frame[0]).toBe(0x81);
      expect(frame.length - length).toBe(length < 126 ? 2 : length < 65_536 ? 4 : 10);
      expect(receive(frame)).toEqual({ texts: [text], errors: [] });
    }
  });

  it('counts UTF-8 bytes, not characters, and keeps frames apart in one stream of bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { minLength: 1, maxLength: 8 }), (texts) => {
        expect(receive(Buffer.concat(texts.map(textFrame)))).toEqual({ texts, errors: [] });
      }),
      { numRuns: 200 },
    );
  });
});
