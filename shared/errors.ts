/**
 * The closed set of error codes tokenwire puts on the wire, each with whether a client may
 * retry and the HTTP status it maps to when it is answered before a stream starts.
 * Codes are stable API: add new ones, never rename.
 */
export const ERROR_CODES = {
  invalid_request: { retryable: false, status: 400, message: 'The request is not valid.' },
  invalid_frame: { retryable: false, status: 400, message: 'The frame is not valid.' },
  payload_too_large: { retryable: false, status: 413, message: 'The message is too large.' },
  not_found: { retryable: false, status: 404, message: 'No such route.' },
  unknown_stream: { retryable: false, status: 404, message: 'No such stream.' },
  unknown_call: { retryable: false, status: 404, message: 'No such tool call.' },
  unknown_tool: { retryable: false, status: 400, message: 'No such tool.' },
  // Edited arguments on an approve that the tool's schema refuses; the call stays pending.
  invalid_arguments: { retryable: false, status: 422, message: 'The arguments are not valid for this tool.' },
  already_decided: { retryable: false, status: 409, message: 'This tool call was already decided.' },
  approval_expired: { retryable: false, status: 410, message: 'The approval window for this tool call has closed.' },
  // A client tool's output that came after its `tool_run` frame's `expiresAt`: the model was told `tool_timeout`.
  tool_timeout: { retryable: false, status: 410, message: 'The time to answer this tool call has passed.' },
  forbidden: { retryable: false, status: 403, message: 'Not allowed.' },
  stream_expired: { retryable: false, status: 410, message: 'The stream is no longer kept.' },
  resume_ahead: { retryable: false, status: 400, message: 'The resume point is past the last frame of the stream.' },
  upstream_error: { retryable: true, status: 502, message: 'The model service failed.' },
  upstream_rejected: { retryable: false, status: 502, message: 'The model service rejected the request.' },
  upstream_rate_limited: { retryable: true, status: 429, message: 'The model service is rate limiting.' },
  upstream_timeout: { retryable: true, status: 504, message: 'The model service timed out.' },
  slow_consumer: { retryable: true, status: 503, message: 'The client did not keep up with the stream.' },
  too_many_streams: { retryable: true, status: 429, message: 'Too many streams are open.' },
  server_shutdown: { retryable: true, status: 503, message: 'The server is shutting down.' },
  connection_lost: { retryable: true, status: 503, message: 'The connection to the server was lost.' },
  internal: { retryable: true, status: 500, message: 'Something went wrong on the server.' },
  // Identity, per-client limits, and what Node's HTTP parser refuses.
  unauthorized: { retryable: false, status: 401, message: 'Authentication is required.' },
  rate_limited: { retryable: true, status: 429, message: 'Too many requests from this client; retry later.' },
  request_timeout: { retryable: true, status: 408, message: 'The request was not received in time.' },
  headers_too_large: { retryable: false, status: 431, message: 'The request headers are too large.' },
  unsupported_media_type: { retryable: false, status: 415, message: 'The body encoding or type is not supported.' },
  method_not_allowed: { retryable: false, status: 405, message: 'This method is not allowed here.' },
  // Several instances on Redis: the instance running a generation is gone, or the store is.
  owner_lost: { retryable: true, status: 503, message: 'The instance running this stream stopped answering; resume or start again.' },
  store_unavailable: { retryable: true, status: 503, message: 'The stream store is unavailable; retry shortly.' },
  // An idempotent start whose key already started a different chat.
  idempotency_conflict: { retryable: false, status: 409, message: 'This idempotency key was already used for a different request.' },
  // A chat naming a model the server does not offer (the `models` option); the server's own choice is never refused.
  model_not_allowed: { retryable: false, status: 400, message: 'This model is not available here.' },
} as const satisfies Record<string, { retryable: boolean; status: number; message: string }>;

/** One of tokenwire's stable error codes, e.g. `unknown_stream` or `upstream_timeout`: the keys of `ERROR_CODES`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The wait (ms) an error without its own suggests before a retry: `Retry-After` on HTTP,
 * `retryAfterMs` on a WebSocket error frame. Redis reconnects in well under a second.
 */
const DEFAULT_RETRY_AFTER_MS: Partial<Record<ErrorCode, number>> = { store_unavailable: 1_000 };

/** Every `ErrorCode`, in `ERROR_CODES`' order: a non-empty tuple, as `z.enum` wants for the frames' `code`. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** The one error type of tokenwire: a stable code, a message safe for the wire, and a cause for logs. */
export class TokenwireError extends Error {
  /** The stable code: what a client switches on (the message may change). */
  readonly code: ErrorCode;
  /** Whether the same request may succeed later (after `retryAfterMs`, when set); from `ERROR_CODES`. */
  readonly retryable: boolean;
  /** The HTTP status it is answered with before a stream starts (RFC 9110 §15), from `ERROR_CODES`. */
  readonly status: number;

  /** For limits: how long the client should wait before retrying (milliseconds; HTTP `Retry-After`). */
  readonly retryAfterMs: number | undefined;

  /**
   * @param code - The error's code; sets `retryable` and `status`.
   * @param message - A message safe for the wire; default the code's own from `ERROR_CODES`.
   * @param options - `cause`: the underlying error, kept for the log and never sent; `retryAfterMs`: the wait to suggest.
   */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'TokenwireError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.status = ERROR_CODES[code].status;
    this.retryAfterMs = options?.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS[code];
  }

  /** The body every HTTP error response carries: `{ error: { code, message } }`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** HTTP `Retry-After` for an error that suggests a wait: whole seconds, at least 1 (RFC 9110 §10.2.3). */
export const retryAfterSeconds = (error: TokenwireError): string | undefined =>
  error.retryAfterMs === undefined ? undefined : String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));

/** Type guard that also accepts errors from another copy of this module (bundles, workers). */
export function isTokenwireError(value: unknown): value is TokenwireError {
  return (
    value instanceof TokenwireError ||
    (value instanceof Error && value.name === 'TokenwireError' && typeof (value as { code?: unknown }).code === 'string')
  );
}

/**
 * Turns anything thrown into a TokenwireError. Unknown errors become `internal` with the
 * safe default message; the original stays on `cause` for the log, never on the wire.
 */
export function toTokenwireError(value: unknown, fallback: ErrorCode = 'internal'): TokenwireError {
  if (isTokenwireError(value)) return value;
  return new TokenwireError(fallback, undefined, { cause: value });
}
