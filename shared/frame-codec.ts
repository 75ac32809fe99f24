import { z } from 'zod';
import { ClientFrame, ServerFrame } from './protocol.js';

/** The outcome of decoding untrusted text: a value, or a message that says what is wrong. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const at = issue.path.length ? ` at ${issue.path.join('.')}` : '';
  return `${issue.message}${at}`;
}

function decodeWith<T>(schema: z.ZodType<T>, text: string): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not JSON' };
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: describe(parsed.error) };
}

/** Decodes a client frame (a WebSocket message); never throws. */
export const decodeClientFrame = (text: string): Decoded<ClientFrame> => decodeWith(ClientFrame, text);

/** Decodes a server frame (an SSE `data` field or a WebSocket message); never throws. */
export const decodeServerFrame = (text: string): Decoded<ServerFrame> => decodeWith(ServerFrame, text);

/** Parses a value already decoded from JSON (an HTTP body) against a schema; never throws. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): Decoded<T> {
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: describe(parsed.error) };
}

/**
 * The SSE bytes of one frame: `id: <seq>`, `event: <type>`, `data: <json>`. JSON.stringify
 * escapes line breaks, so the data is always one line; `json` is passed in so the hot path
 * stringifies each frame once for every view.
 */
export const encodeFrameSse = (frame: Pick<ServerFrame, 'seq' | 'type'>, json: string): string =>
  `id: ${frame.seq}\nevent: ${frame.type}\ndata: ${json}\n\n`;
