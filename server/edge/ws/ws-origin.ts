/** Which browser origins may open a WebSocket: ALLOWED_ORIGINS, else loopback and PUBLIC_URL. */
export interface OriginPolicy {
  /** ALLOWED_ORIGINS: when non-empty, exactly these. */
  allowed: readonly string[];
  /** PUBLIC_URL: the origin users reach this server on, trusted when `allowed` is empty. */
  publicUrl?: string | undefined;
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
 * Whether a WebSocket upgrade from this `Origin` may proceed. Browsers
 * always send `Origin` and cannot forge it, so this stops another site's page from opening a
 * socket with the user's cookies (cross-site WebSocket hijacking). No `Origin`: a non-browser
 * client, allowed. With `allowed` set, only those origins; else any loopback origin (http or
 * https, any port) and PUBLIC_URL's. The `Host` header is never trusted: under DNS rebinding
 * an attacker's origin and Host name the same attacker host. `null` (sandboxed frames,
 * files) is refused.
 */
export function isOriginAllowed(header: string | undefined, policy: OriginPolicy): boolean {
  if (header === undefined) return true;
  const origin = normalise(header);
  if (origin === undefined) return false;
  if (policy.allowed.length > 0) return policy.allowed.some((entry) => normalise(entry) === origin);
  if (LOOPBACK.has(new URL(origin).hostname)) return true;
  return policy.publicUrl !== undefined && normalise(policy.publicUrl) === origin;
}

/** Origins whose answer a check keeps; past this it starts over (a flood of made-up origins). */
const REMEMBERED_ORIGINS = 256;

/**
 * `isOriginAllowed` for one policy, remembering its answer per `Origin` value: a site's sockets
 * all send the same one, and two URL parses per upgrade were a start's cost.
 */
export function createOriginCheck(policy: OriginPolicy): (header: string | undefined) => boolean {
  const known = new Map<string, boolean>();
  return (header) => {
    if (header === undefined) return true;
    let allowed = known.get(header);
    if (allowed === undefined) {
      allowed = isOriginAllowed(header, policy);
      if (known.size >= REMEMBERED_ORIGINS) known.clear();
      known.set(header, allowed);
    }
    return allowed;
  };
}
