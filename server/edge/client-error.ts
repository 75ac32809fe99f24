import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { TokenwireError } from '../../shared/errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

/** What Node's HTTP parser refused, as our error: the statuses Node itself would send. */
function parserError(code: string | undefined): TokenwireError {
  if (code === 'HPE_HEADER_OVERFLOW') return new TokenwireError('headers_too_large');
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return new TokenwireError('payload_too_large', 'The chunk extensions are too large.');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new TokenwireError('request_timeout');
  return new TokenwireError('invalid_request', 'The request is not valid HTTP/1.1.');
}

/** A whole HTTP/1.1 response with the JSON error body, for a socket no request object owns; `headers` are added as given. */
export function rawErrorResponse(error: TokenwireError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(error.toJSON());
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
    'Connection: close\r\n' +
    extra +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * The http.Server's `clientError` listener: what Node's parser rejects (bad
 * chunked encoding, 431, request timeouts) gets the same typed JSON body as every other
 * error, logged at debug, never as a server fault. As Node's default: answer only while
 * nothing was written on the socket, then close it.
 */
export function createClientErrorHandler(log: Logger, metrics: Pick<Metrics, 'errors'>) {
  return (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const known = parserError(error.code);
    metrics.errors.inc({ code: known.code });
    log.debug({ err: error, code: known.code }, 'refused a malformed request');
    if ((socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
      socket.once('finish', () => socket.destroy());
      socket.end(rawErrorResponse(known));
    } else {
      socket.destroy();
    }
  };
}
