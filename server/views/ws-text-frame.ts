/**
 * One WebSocket text message as the bytes of a single frame a server sends (RFC 6455 §5.2):
 * FIN set, opcode 0x1, no mask, the payload length in 7, 16 or 64 bits, then the UTF-8 payload.
 * Uncompressed frames are valid with or without permessage-deflate (RFC 7692 §6: RSV1 clear).
 * One buffer per message: `ws.send` wrote a header and the payload as two writes with an
 * options object and a conversion each (~1 µs per token on loopback).
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
