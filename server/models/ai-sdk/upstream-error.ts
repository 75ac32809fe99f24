import { TokenwireError, type ErrorCode } from '../../../shared/errors.js';
import { retryAfterMs } from '../retry-after.js';

/** Node's and undici's names for a connection or response that took too long. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const fieldOf = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined);

/**
 * The error and its causes, at most five deep: the AI SDK wraps fetch's failures in an
 * `APICallError` whose `cause` is the network error.
 */
function* chainOf(error: unknown): Generator<unknown> {
  for (let depth = 0, at = error; depth < 5 && at !== undefined && at !== null; depth++, at = fieldOf(at, 'cause')) yield at;
}

const isTimeout = (error: unknown): boolean => {
  const name = fieldOf(error, 'name');
  const code = fieldOf(error, 'code');
  const type = fieldOf(error, 'type');
  return name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code)) || (typeof type === 'string' && type.includes('timeout'));
};

/** An HTTP status of the answer: `statusCode` on an `APICallError` and on providers' stream error parts. */
const statusOf = (error: unknown): number | undefined => {
  const status = fieldOf(error, 'statusCode');
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
};

function codeFor(status: number | undefined, error: unknown): ErrorCode {
  if (status === 429 || fieldOf(error, 'type') === 'rate_limit_error') return 'upstream_rate_limited';
  if (status === 408 || status === 504) return 'upstream_timeout';
  if (status !== undefined && status >= 400 && status < 500) return 'upstream_rejected';
  return 'upstream_error';
}

/**
 * Maps what an AI SDK model threw (from `doStream`) or streamed (an `error` part) onto
 * tokenwire's codes by the HTTP status it carries: 429 `upstream_rate_limited` (with its
 * Retry-After), 408 and 504 `upstream_timeout`, other 4xx `upstream_rejected`; a timeout
 * anywhere in the cause chain `upstream_timeout`; anything else `upstream_error`. Read by
 * shape, not by class, so that `@ai-sdk/provider` is never loaded at run time. The upstream's
 * own message stays in `cause`, for the log only.
 */
export function toUpstreamError(error: unknown): TokenwireError {
  if (error instanceof TokenwireError) return error;
  let status: number | undefined;
  for (const link of chainOf(error)) {
    if (link instanceof TokenwireError) return link;
    status ??= statusOf(link);
    if (status === undefined && isTimeout(link)) return new TokenwireError('upstream_timeout', undefined, { cause: error });
  }
  const code = codeFor(status, error);
  const headers = fieldOf(error, 'responseHeaders');
  const wait = code === 'upstream_rate_limited' && typeof headers === 'object' && headers !== null ? retryAfterMs(new Headers(headers as Record<string, string>)) : undefined;
  return new TokenwireError(code, undefined, { cause: error, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
}
