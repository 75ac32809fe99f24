import type { Response } from 'express';
import { isTokenwireError, retryAfterSeconds, toTokenwireError, TokenwireError, type ErrorCode } from '../../shared/errors.js';
import { isJson } from '../../shared/json.js';
import type { Metrics } from '../observability/metrics.js';

/** Our code for each client status a library (body-parser, the router, Node's parser) may answer. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** Safe messages for body-parser's error types; its own messages may echo the input. */
const MESSAGE_BY_TYPE: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'The body is not valid JSON.',
  'entity.too.large': 'The body is too large.',
  'entity.verify.failed': 'The body failed verification.',
  'encoding.unsupported': 'Unsupported Content-Encoding: send identity, gzip, deflate or br.',
  'charset.unsupported': 'Unsupported charset: send UTF-8.',
  'request.aborted': 'The request was aborted before its body arrived.',
  'request.size.invalid': 'The body is not as long as Content-Length says.',
  'stream.encoding.set': 'The body could not be read.',
};

/**
 * One rule for every error an HTTP request can raise: ours as they are; any error
 * that carries a 4xx status (body-parser, the router's percent-decoding, http-errors) or is a
 * URIError becomes the typed client error for that status; everything else is `internal`.
 */
export function toHttpError(error: unknown): TokenwireError {
  if (isTokenwireError(error)) return error;
  if (error instanceof URIError) return new TokenwireError('invalid_request', 'The URL has invalid percent-encoding.');
  const { status, statusCode, type, code: cause, body } = (error ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown; code?: unknown; body?: unknown };
  // express.json() takes only an object or an array (strict): `null` or `"text"` is JSON all the same.
  if (type === 'entity.parse.failed' && typeof body === 'string' && isJson(body)) {
    return new TokenwireError('invalid_request', 'The body must be a JSON object.', { cause: error });
  }
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (code !== undefined && code >= 400 && code < 500) {
    const ours = CODE_BY_STATUS[code] ?? 'invalid_request';
    // body-parser wraps zlib's failure (gzip garbage, `br` on a plain body) in a bare 400.
    const zlib = typeof cause === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR)/.test(cause);
    const message =
      (typeof type === 'string' ? MESSAGE_BY_TYPE[type] : undefined) ??
      (zlib ? 'The body does not decode with its Content-Encoding.' : ours === 'invalid_request' ? 'The request could not be read.' : undefined);
    return new TokenwireError(ours, message, { cause: error });
  }
  return toTokenwireError(error);
}

/** The headers an error answer carries: `Retry-After` (whole seconds) for limits, `WWW-Authenticate` for 401. */
export function errorHeaders(error: TokenwireError): Record<string, string> {
  return {
    ...(error.retryAfterMs !== undefined ? { 'Retry-After': retryAfterSeconds(error) as string } : {}),
    ...(error.code === 'unauthorized' ? { 'WWW-Authenticate': 'Bearer' } : {}),
  };
}

/** Answers with the error's status, `{ error: { code, message } }`, `Retry-After` for limits, and counts it. */
export function sendHttpError(res: Response, error: TokenwireError, metrics: Pick<Metrics, 'errors'>): void {
  metrics.errors.inc({ code: error.code });
  res.set(errorHeaders(error));
  res.status(error.status).json(error.toJSON());
}

/** A JSON answer for a web-standard `Response` (the fetch handler and the interop wires). */
export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): globalThis.Response =>
  new globalThis.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

/** `sendHttpError` for a web-standard `Response`: the same status, body and headers, counted. */
export function errorResponse(error: TokenwireError, metrics: Pick<Metrics, 'errors'>, headers: Record<string, string> = {}): globalThis.Response {
  metrics.errors.inc({ code: error.code });
  return jsonResponse(error.status, error.toJSON(), { ...errorHeaders(error), ...headers });
}
