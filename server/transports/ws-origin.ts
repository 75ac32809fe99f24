/** What the origin check knows of an upgrade request. */
export interface OriginRequest {
  /** The `Origin` header; absent for non-browser clients. */
  origin: string | undefined;
  /** The `Host` header. */
  host: string | undefined;
  /** The scheme the client used: `https` when the socket is TLS or a proxy says so in X-Forwarded-Proto. */
  scheme: 'http' | 'https';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `scheme://host[:port]` with the default port dropped and case folded; undefined when not an http(s) origin. */
function normalise(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether a WebSocket upgrade may proceed (issue #6). Browsers always send `Origin` and cannot
 * forge it, so this is what stops another site's page from opening a socket with the user's
 * cookies (cross-site WebSocket hijacking). No `Origin`: a non-browser client, allowed. With
 * `allowed` set, only those origins; else this server's own origin and any loopback origin
 * (http or https, any port) for local development. `null` (sandboxed frames, files) is refused.
 */
export function isOriginAllowed(request: OriginRequest, allowed: readonly string[]): boolean {
  if (request.origin === undefined) return true;
  const origin = normalise(request.origin);
  if (origin === undefined) return false;
  if (allowed.length > 0) return allowed.some((entry) => normalise(entry) === origin);
  const { hostname } = new URL(origin);
  if (LOOPBACK.has(hostname)) return true;
  return request.host !== undefined && normalise(`${request.scheme}://${request.host}`) === origin;
}
