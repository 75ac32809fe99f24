import type { RequestListener } from 'node:http';
import { TokenwireError } from '../../shared/errors.js';
import { HEADERS } from '../../shared/protocol.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * The standalone server's request listener in front of its app: an HTTP/1.1 request without
 * `Host` is answered 400 `invalid_request` with the JSON error body (RFC 9112 §3.2), every
 * other request goes on to `next`. Node's own check (`requireHostHeader`) answers with no body,
 * so the server turns that off.
 */
export function requireHost(next: RequestListener, options: { metrics: Pick<Metrics, 'errors'>; instanceId: string }): RequestListener {
  return (req, res) => {
    if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return next(req, res);
    const error = new TokenwireError('invalid_request', 'The Host header is required (RFC 9112 §3.2).');
    options.metrics.errors.inc({ code: error.code });
    const body = JSON.stringify(error.toJSON());
    const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close', [HEADERS.instance]: options.instanceId };
    res.writeHead(error.status, headers).end(body);
  };
}
