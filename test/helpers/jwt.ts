import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A 32-byte HS256 secret for tests. */
export const HS_SECRET = 'test-secret-that-is-32-bytes-long!!';

/** Signs a JWT for `sub` with HS256 (the default) or the given private key and algorithm. */
export async function signJwt(
  claims: { sub?: string; iss?: string; aud?: string; expiresIn?: string | number },
  key: { secret?: string; privateKey?: CryptoKey; alg?: string; kid?: string } = {},
): Promise<string> {
  const alg = key.alg ?? 'HS256';
  const jwt = new SignJWT({}).setProtectedHeader({ alg, ...(key.kid ? { kid: key.kid } : {}) }).setIssuedAt();
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  jwt.setExpirationTime(claims.expiresIn ?? '5m');
  return jwt.sign(key.privateKey ?? new TextEncoder().encode(key.secret ?? HS_SECRET));
}

/** An RS256 key pair: the private key to sign, the public key as SPKI PEM and as a JWK. */
export async function rsaKeys(kid = 'k1'): Promise<{ privateKey: CryptoKey; pem: string; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, pem: await exportSPKI(publicKey), jwk };
}

/** A loopback JWKS endpoint serving `keys`; counts its requests. */
export async function startJwks(keys: JWK[]): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return { url, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
