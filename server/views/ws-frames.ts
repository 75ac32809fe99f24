import { TokenwireError } from '../../shared/errors.js';
import { decodeClientFrame } from '../../shared/frame-codec.js';
import { ClientFrame, LIMITS } from '../../shared/protocol.js';

/**
 * The `streamId` of an error frame that concerns no stream this socket may name (bad JSON, an
 * unknown call, a frame for another connection's stream). The schema needs a non-empty id;
 * `-` can never be a stream id (those are `st_…`) nor a client id a client would pick.
 */
export const NO_STREAM = '-';

const KNOWN_TYPES: ReadonlySet<string> = new Set(ClientFrame.options.map((o) => o.shape.type.value));

/** A client message as the session gets it: a frame, or an error and the id it may be routed to. */
export type WsDecoded =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: TokenwireError; ref: string | undefined };

const isId = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= LIMITS.idChars;

/** The text of a `ws` message (Buffer, ArrayBuffer, fragments) or of a test double's string. */
function messageText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data) && data.every((part) => Buffer.isBuffer(part))) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return undefined;
}

/**
 * The id a broken frame names, so its error can be routed: a `start`'s client id (the client
 * has no stream id yet), or a `streamId`. Only ids that would pass the schema are echoed.
 */
function refOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const { type, id, streamId } = raw as Record<string, unknown>;
  if (type === 'start' && isId(id)) return id;
  if ((type === 'cancel' || type === 'resume') && isId(streamId)) return streamId;
  return undefined;
}

/**
 * Decodes one WebSocket message with the shared schemas; never throws. Binary messages, text
 * that is not JSON, unknown types and frames that fail their schema are all `invalid_frame`,
 * with a message that says which.
 */
export function decodeWsMessage(data: unknown, isBinary: boolean | undefined): WsDecoded {
  const text = isBinary ? undefined : messageText(data);
  if (text === undefined) {
    return { ok: false, error: new TokenwireError('invalid_frame', 'Binary messages are not accepted: send each frame as JSON text.'), ref: undefined };
  }
  const decoded = decodeClientFrame(text);
  if (decoded.ok) return { ok: true, frame: decoded.value };

  // The failure path only: parse again to say what was wrong and whom it concerns.
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: new TokenwireError('invalid_frame', 'The message is not JSON.'), ref: undefined };
  }
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    const named = typeof type === 'string' ? `"${type.slice(0, LIMITS.idChars)}"` : 'missing';
    return {
      ok: false,
      error: new TokenwireError('invalid_frame', `Unknown frame type (${named}); expected one of ${[...KNOWN_TYPES].join(', ')}.`),
      ref: undefined,
    };
  }
  return { ok: false, error: new TokenwireError('invalid_frame', `The ${type} frame is not valid: ${decoded.message}.`), ref: refOf(raw) };
}

/**
 * An `error` frame that is not in any stream's log: it answers a client frame or drops a slow
 * view. `streamId` is the stream (or a refused `start`'s client id) it concerns, else
 * NO_STREAM; `seq` is the last seq this socket delivered for that stream, else 0, so it never
 * runs ahead of the log and a client's resume point stays right.
 */
export function errorFrameJson(error: TokenwireError, streamId: string = NO_STREAM, seq = 0): string {
  return JSON.stringify({
    type: 'error',
    streamId,
    seq: Math.max(0, seq),
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(error.retryAfterMs) } : {}),
  });
}
