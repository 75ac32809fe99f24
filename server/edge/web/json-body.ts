import { TokenwireError } from '../../../shared/errors.js';

/** The largest JSON body a route reads, as `express.json({ limit: '1mb' })` on the Express routes. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request's JSON body, read to at most MAX_BODY_BYTES, refused as the Express routes
 * refuse it: `unsupported_media_type` unless it is `application/json`, `payload_too_large`,
 * `invalid_request` when it is not a JSON object or array.
 */
export async function jsonBodyOf(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
  const tooLarge = () => new TokenwireError('payload_too_large', 'The body is too large.');
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new TokenwireError('invalid_request', 'The body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null) throw new TokenwireError('invalid_request', 'The body must be a JSON object.');
  return value;
}

