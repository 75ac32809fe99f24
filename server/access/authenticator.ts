import type { IncomingMessage } from 'node:http';

/**
 * What tokenwire reads of a request to authenticate it: its URL and its headers. A WHATWG
 * `Request` (Next.js, Hono, Bun, Deno) is one as it is; `authRequestOf` makes one of Node's
 * IncomingMessage (Express, the WebSocket upgrade).
 */
export interface AuthRequest {
  /** Absolute (a `Request`) or the path with its query (Node); only the query is read. */
  readonly url: string;
  /** A header's value by name, any case; several values joined by `, `; null when absent (WHATWG `Headers.get`). */
  readonly headers: { get(name: string): string | null };
  /** The request as the framework gave it (Express's `req`, the upgrade request, a web `Request`), for an app's own authentication. */
  readonly raw?: IncomingMessage | Request;
}

/**
 * How tokenwire learns who a request comes from. `authenticate` answers the
 * subject (a user id) or null; with `required`, null is refused with 401 on chat, resume,
 * cancel, approvals, the WebSocket upgrade and (with METRICS_AUTH) /metrics, on the Express
 * routes and the web-standard handlers alike. Plug in your own (a session cookie, an API key)
 * through `startServer(config, { authenticator })` or `createCore(config, { authenticator })`.
 */
export interface Authenticator {
  /** The subject this request proves, or null. Never throws for bad credentials: null. */
  authenticate(request: AuthRequest): Promise<string | null>;
  /** Whether a request without a subject is refused (401). */
  readonly required: boolean;
}

/** AUTH=none: everyone is anonymous and the stream token is the capability (local use). */
export const noAuthentication: Authenticator = {
  authenticate: async () => null,
  required: false,
};

/** Node's request as an AuthRequest: its headers read by lower-case name, as Node keeps them. */
export function authRequestOf(request: IncomingMessage): AuthRequest {
  return {
    url: request.url ?? '',
    raw: request,
    headers: {
      get(name) {
        const value = request.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}

/** One query parameter of a request's URL (absolute or a path), null when absent. */
export function queryParam(request: Pick<AuthRequest, 'url'>, name: string): string | null {
  const query = request.url.split('?')[1];
  return query ? new URLSearchParams(query.split('#')[0]).get(name) : null;
}

/** The token in an `Authorization: Bearer <token>` header value, if it has one. */
export const bearerOf = (authorization: string | null | undefined): string | undefined =>
  /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];

/**
 * The credential in `Authorization: Bearer <token>` (RFC 6750 §2.1), else in the
 * `access_token` query parameter (§2.3): browsers cannot set headers on EventSource or a
 * WebSocket upgrade.
 */
export function bearerCredential(request: AuthRequest): string | undefined {
  const fromHeader = bearerOf(request.headers.get('authorization'));
  if (fromHeader !== undefined) return fromHeader;
  const value = queryParam(request, 'access_token');
  return value === null || value === '' ? undefined : value;
}

/**
 * The request an authentication function is given: the one the framework gave tokenwire.
 * Node's `IncomingMessage` on `tw.router` (Express puts its `req` here, with whatever your
 * session middleware added) and on the WebSocket upgrade (`tw.attach`); a WHATWG `Request` on
 * `tw.fetch`.
 */
export type AuthenticateRequest = import('node:http').IncomingMessage | Request;

/**
 * Who a request comes from. `authenticate` returns the subject (a user id) or null/undefined
 * for nobody; it may be async. A throw counts as nobody. With `required` (the default) a
 * request without a subject is refused with 401 `unauthorized` on every route and upgrade.
 * Streams started by a subject can be viewed, cancelled and decided only by that subject.
 */
export interface TokenwireAuth {
  /**
   * Names the subject of a request: a user id, or null/undefined for nobody. Called for each
   * request to tokenwire's routes and once per WebSocket upgrade (the socket keeps that subject).
   */
  authenticate(request: AuthenticateRequest): string | null | undefined | Promise<string | null | undefined>;
  /** Refuse requests with no subject (401). Default true. */
  required?: boolean;
}
