import { createPublicKey } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../settings/config.js';
import type { Logger } from '../observability/log.js';
import { bearerCredential, type Authenticator } from './authenticator.js';

type JwtConfig = Pick<Config, 'JWT_SECRET' | 'JWT_PUBLIC_KEY' | 'JWT_JWKS_URL' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>;

/** Tokens longer than this are refused unread: a JWT of a few claims is well under 4 KiB. */
const MAX_TOKEN_CHARS = 8_192;

/** The key and the algorithms it may verify: one per configured key kind (no `alg` confusion). */
function keyOf(config: JwtConfig): { key: Uint8Array | CryptoKeyLike | JWTVerifyGetKey; algorithms: string[] } {
  if (config.JWT_SECRET !== undefined) return { key: new TextEncoder().encode(config.JWT_SECRET), algorithms: ['HS256'] };
  if (config.JWT_PUBLIC_KEY !== undefined) {
    return { key: createPublicKey(config.JWT_PUBLIC_KEY.replaceAll('\\n', '\n')), algorithms: ['RS256'] };
  }
  if (config.JWT_JWKS_URL !== undefined) {
    return { key: createRemoteJWKSet(new URL(config.JWT_JWKS_URL)), algorithms: ['RS256', 'ES256', 'EdDSA'] };
  }
  throw new Error('AUTH=jwt needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL');
}

type CryptoKeyLike = ReturnType<typeof createPublicKey>;

/**
 * AUTH=jwt: a signed bearer token (HS256 secret, RS256 public key, or keys from a JWKS URL)
 * verified by `jose`, with `exp`/`nbf` and the configured issuer and audience checked. The
 * subject is the `sub` claim; a token without one proves nobody.
 */
export function createJwtAuthenticator(config: JwtConfig, log: Logger): Authenticator {
  const { key, algorithms } = keyOf(config);
  const options = {
    algorithms,
    ...(config.JWT_ISSUER !== undefined ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE !== undefined ? { audience: config.JWT_AUDIENCE } : {}),
  };
  return {
    required: true,
    async authenticate(request) {
      const token = bearerCredential(request);
      if (token === undefined || token.length > MAX_TOKEN_CHARS) return null;
      try {
        // Two calls for jose's two overloads (a key, or a JWKS key getter).
        const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
      } catch (error) {
        // Expected for bad tokens; a JWKS that cannot be fetched shows here too.
        log.debug({ err: error }, 'bearer token refused');
        return null;
      }
    },
  };
}
