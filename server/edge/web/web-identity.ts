import { TokenwireError } from '../../../shared/errors.js';
import type { Identity } from '../../access/stream-access.js';
import type { Authenticator } from '../../access/authenticator.js';

/** Options of the web-standard handlers (edge/web/web.ts, the fetch handler). */
export interface WebHandlerOptions {
  /**
   * The caller's address, for the per-client limits of anonymous callers: a web `Request` has
   * no socket, so the runtime says it (Bun's `server.requestIP(request)`, Deno's
   * `info.remoteAddr`, or `X-Forwarded-For` as set by a proxy you trust). Authenticated
   * callers are limited by subject; anonymous ones without an address are not limited per client.
   */
  clientAddress?: (request: Request) => string | undefined;
}

/**
 * Who a web request comes from, as the Express routes' `identify` says it: the
 * authenticator (a `Request` is an AuthRequest as it is) and the caller's address. Returns
 * `unauthorized` when authentication is required and there is no subject; undefined for an
 * anonymous caller with no address, whom no per-client limit can key.
 */
export async function identifyWebRequest(
  deps: { auth: Authenticator },
  request: Request,
  options: WebHandlerOptions,
): Promise<Identity | undefined | TokenwireError> {
  // A custom authenticator that throws proves nobody, as on the WebSocket upgrade.
  const subject = await deps.auth.authenticate({ url: request.url, headers: request.headers, raw: request }).catch(() => null);
  if (subject === null && deps.auth.required) return new TokenwireError('unauthorized', 'This request needs authentication: a valid session or bearer token.');
  const address = options.clientAddress?.(request);
  if (subject === null && address === undefined) return undefined;
  return { subject: subject ?? undefined, address: address ?? 'unknown' };
}
