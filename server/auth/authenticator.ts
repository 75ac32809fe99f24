import type { IncomingMessage } from 'node:http';

/**
 * How tokenwire learns who a request comes from (issue 12). `authenticate` answers the
 * subject (a user id) or null; with `required`, null is refused with 401 on chat, resume,
 * cancel, approvals, the WebSocket upgrade and (with METRICS_AUTH) /metrics. Plug in your own
 * (a session cookie, an API key) through `startServer(config, { authenticator })`.
 */
export interface Authenticator {
  /** The subject this request proves, or null. Never throws for bad credentials: null. */
  authenticate(request: IncomingMessage): Promise<string | null>;
  /** Whether a request without a subject is refused (401). */
  readonly required: boolean;
}

/** AUTH=none: everyone is anonymous and the stream token is the capability (local use). */
export const noAuthentication: Authenticator = {
  authenticate: async () => null,
  required: false,
};

/**
 * The credential in `Authorization: Bearer <token>` (RFC 6750 §2.1), else in the
 * `access_token` query parameter (§2.3): browsers cannot set headers on EventSource or a
 * WebSocket upgrade.
 */
export function bearerCredential(request: IncomingMessage): string | undefined {
  const fromHeader = bearerHeader(request);
  if (fromHeader !== undefined) return fromHeader;
  const query = (request.url ?? '').split('?')[1];
  if (!query) return undefined;
  const value = new URLSearchParams(query).get('access_token');
  return value === null || value === '' ? undefined : value;
}

/** The token in `Authorization: Bearer <token>`, if the request has one. */
export const bearerHeader = (request: IncomingMessage): string | undefined =>
  /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
