import type { IncomingMessage } from 'node:http';
import type { Logger } from '../observability/log.js';
import { authRequestOf, type AuthRequest, type TokenwireAuth } from './authenticator.js';
import { createJwtAuthenticator } from './jwt.js';

/**
 * The key `jwtAuth` verifies with: exactly one of an HS256 `secret` (at least 32 bytes, RFC 7518
 * §3.2), an RS256 `publicKey` (PEM, SPKI) or a `jwksUrl` whose keys `jose` fetches and caches.
 */
export type JwtAuthOptions = ({ secret: string; publicKey?: never; jwksUrl?: never } | { publicKey: string; secret?: never; jwksUrl?: never } | { jwksUrl: string; secret?: never; publicKey?: never }) & {
  /** The `iss` a token must carry (RFC 7519 §4.1.1). */
  issuer?: string;
  /** The `aud` a token must carry (RFC 7519 §4.1.3). */
  audience?: string;
  /** Where refused tokens are logged at debug. */
  logger?: Logger;
};

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Authentication by a signed bearer token: `Authorization: Bearer <jwt>` (RFC 6750 §2.1), or the
 * `access_token` query parameter (§2.3) where a browser cannot set headers (EventSource, the
 * WebSocket upgrade). `exp`/`nbf`, the issuer and the audience are checked by `jose`; the
 * subject is the `sub` claim. Required: a request without a valid token is 401.
 * @throws TypeError when not exactly one key is given, or the secret is shorter than 32 bytes.
 */
export function jwtAuth(options: JwtAuthOptions): TokenwireAuth {
  const { secret, publicKey, jwksUrl } = (options ?? {}) as { secret?: string; publicKey?: string; jwksUrl?: string };
  const keys = [secret, publicKey, jwksUrl].filter((k) => k !== undefined);
  if (keys.length !== 1) throw new TypeError('jwtAuth: give exactly one of secret, publicKey, jwksUrl');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) throw new TypeError('jwtAuth: the secret must be at least 32 bytes (RFC 7518 §3.2)');
  if (jwksUrl !== undefined && !URL.canParse(jwksUrl)) throw new TypeError(`jwtAuth: jwksUrl ${JSON.stringify(jwksUrl)} is not a URL`);
  const verifier = createJwtAuthenticator(
    { JWT_SECRET: secret, JWT_PUBLIC_KEY: publicKey, JWT_JWKS_URL: jwksUrl, JWT_ISSUER: options.issuer, JWT_AUDIENCE: options.audience },
    options.logger ?? quiet,
  );
  return {
    required: true,
    authenticate: (request) => verifier.authenticate(isWebRequest(request) ? request : authRequestOf(request as IncomingMessage)),
  };
}

const isWebRequest = (request: IncomingMessage | Request): request is Request & AuthRequest => typeof (request as Request).headers?.get === 'function';
