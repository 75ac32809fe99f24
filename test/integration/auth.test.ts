import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../server/access/authenticator.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { HS_SECRET, rsaKeys, signJwt, startJwks } from '../helpers/jwt.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { connectWs, refusedUpgrade } from '../helpers/ws-client.js';

// authentication as a hook (none, JWT via jose, your own), streams and approvals
// bound to the subject, the stream token as its own header, /metrics optionally behind auth.

type Start = Extract<ServerFrame, { type: 'start' }>;
const chat = (tokens = 3) => ({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens } } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let server: TestServer;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await server?.close();
});

const post = (path: string, headers: Record<string, string>, body: unknown = chat()) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('AUTH=jwt with an HS256 secret', () => {
  const env = { AUTH: 'jwt', JWT_SECRET: HS_SECRET, JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'tokenwire', SIM_TOKENS_PER_SECOND: '2000' };
  const token = (sub: string, extra: { iss?: string; aud?: string; expiresIn?: string | number; secret?: string } = {}) =>
    signJwt({ sub, iss: extra.iss ?? 'https://issuer.test', aud: extra.aud ?? 'tokenwire', ...(extra.expiresIn !== undefined ? { expiresIn: extra.expiresIn } : {}) }, { secret: extra.secret ?? HS_SECRET });

  it('refuses missing, forged, expired, wrong-issuer and wrong-audience tokens with a typed 401; accepts a good one', async () => {
    server = await startServer(env);
    const refused = await Promise.all([
      post('/api/chat', {}),
      post('/api/chat', bearer(await token('alice', { secret: 'another-secret-that-is-32-bytes-long' }))),
      post('/api/chat', bearer(await token('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 }))),
      post('/api/chat', bearer(await token('alice', { iss: 'https://evil.test' }))),
      post('/api/chat', bearer(await token('alice', { aud: 'someone-else' }))),
      post('/api/chat', bearer('not.a.jwt')),
    ]);
    for (const response of refused) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    const ok = await postSse(`${server.url}/api/chat`, chat(), bearer(await token('alice')));
    expect(ok.status).toBe(200);
    expect((await ok.ended).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it("binds a stream to its subject: another subject cannot view or cancel it even with its stream token; the owner can without one", async () => {
    server = await startServer({ ...env, SIM_TOKENS_PER_SECOND: '20' });
    const alice = bearer(await token('alice'));
    const bob = bearer(await token('bob'));
    const session = await postSse(`${server.url}/api/chat`, chat(200), alice);
    const start = (await session.waitForFrame((f) => f.type === 'start')) as Start;
    const stolen = { ...bob, 'x-stream-token': start.streamToken as string };
    expect((await fetch(`${server.url}/api/streams/${start.streamId}`, { headers: stolen })).status).toBe(403);
    expect((await fetch(`${server.url}/api/streams/${start.streamId}`, { method: 'DELETE', headers: stolen })).status).toBe(403);
    expect((await fetch(`${server.url}/api/streams/${start.streamId}/approvals`, { headers: stolen })).status).toBe(403);
    const again = await getSse(`${server.url}/api/streams/${start.streamId}`, { ...alice, 'last-event-id': '0' });
    expect(again.status).toBe(200);
    again.disconnect();
    const cancel = await fetch(`${server.url}/api/streams/${start.streamId}`, { method: 'DELETE', headers: alice });
    expect(await cancel.json()).toEqual({ ok: true, cancelled: true });
    expect((await session.ended).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
  });

  it('authenticates the WebSocket upgrade (header or ?access_token=) and binds resume to the subject', async () => {
    server = await startServer({ ...env, SIM_TOKENS_PER_SECOND: '20' });
    expect((await refusedUpgrade(server.url)).status).toBe(401);
    expect((await refusedUpgrade(server.url, { headers: bearer('forged') })).status).toBe(401);
    const alice = await connectWs(server.url, { headers: bearer(await token('alice')) });
    alice.send({ type: 'start', id: 'a', ...chat(200) });
    const start = (await alice.waitForFrame((f) => f.type === 'start')) as Start;
    const bob = await connectWs(server.url, { path: `/ws?access_token=${await token('bob')}` });
    bob.send({ type: 'resume', streamId: start.streamId, lastSeq: 0, token: start.streamToken });
    expect(await bob.waitForFrame((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' });
    bob.send({ type: 'cancel', streamId: start.streamId });
    expect(await bob.waitForCount((f) => f.type === 'error', 2).then((e) => e[1])).toMatchObject({ code: 'unknown_stream' });
    // Alice's second tab needs no token: the subject is the credential.
    const aliceAgain = await connectWs(server.url, { path: `/ws?access_token=${await token('alice')}` });
    aliceAgain.send({ type: 'resume', streamId: start.streamId, lastSeq: 0 });
    await aliceAgain.waitForFrame((f) => f.type === 'token');
    aliceAgain.send({ type: 'cancel', streamId: start.streamId });
    expect(await alice.waitForFrame((f) => f.type === 'done')).toMatchObject({ reason: 'cancelled' });
    for (const c of [alice, bob, aliceAgain]) c.close();
  });

  it('keeps /metrics public by default and behind the same credentials with METRICS_AUTH=authenticated', async () => {
    server = await startServer(env);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    await server.close();
    server = await startServer({ ...env, METRICS_AUTH: 'authenticated' });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: bearer(await token('prometheus')) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('tokenwire_time_to_first_token_seconds');
  });
});

describe('AUTH=jwt with RS256 keys', () => {
  it('verifies with JWT_PUBLIC_KEY (PEM) and refuses HS256 tokens signed with the public key (no alg confusion)', async () => {
    const keys = await rsaKeys();
    server = await startServer({ AUTH: 'jwt', JWT_PUBLIC_KEY: keys.pem.replaceAll('\n', '\\n') });
    const good = await signJwt({ sub: 'carol' }, { privateKey: keys.privateKey, alg: 'RS256' });
    expect((await post('/api/chat', bearer(good))).status).toBe(200);
    const confused = await signJwt({ sub: 'mallory' }, { secret: keys.pem, alg: 'HS256' });
    expect((await post('/api/chat', bearer(confused))).status).toBe(401);
  });

  it('verifies with keys from a loopback JWKS endpoint (JWT_JWKS_URL), and refuses an unknown kid', async () => {
    const keys = await rsaKeys('live');
    const other = await rsaKeys('stranger');
    const jwks = await startJwks([keys.jwk]);
    cleanups.push(() => jwks.close());
    server = await startServer({ AUTH: 'jwt', JWT_JWKS_URL: jwks.url });
    const good = await signJwt({ sub: 'dave' }, { privateKey: keys.privateKey, alg: 'RS256', kid: 'live' });
    expect((await post('/api/chat', bearer(good))).status).toBe(200);
    const unknown = await signJwt({ sub: 'eve' }, { privateKey: other.privateKey, alg: 'RS256', kid: 'stranger' });
    expect((await post('/api/chat', bearer(unknown))).status).toBe(401);
    const ws = await connectWs(server.url, { headers: bearer(good) });
    ws.close();
    expect(jwks.requests()).toBeGreaterThanOrEqual(1);
  });
});

describe('AUTH=none: the stream token is the capability (protocol 2)', () => {
  it('sends streamToken (and, for one version, the same approvalToken) in the start frame, and reads it from X-Stream-Token, ?token= and the deprecated Bearer', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '2000' });
    const session = await postSse(`${server.url}/api/chat`, chat(5));
    const start = (await session.waitForFrame((f) => f.type === 'start')) as Start;
    await session.ended;
    expect(start.protocol).toBe(2);
    expect(start.streamToken).toMatch(/^apr_/);
    expect(start.approvalToken).toBe(start.streamToken);
    const token = start.streamToken as string;
    const url = `${server.url}/api/streams/${start.streamId}`;
    for (const [how, response] of [
      ['X-Stream-Token', await getSse(url, { 'x-stream-token': token })],
      ['?token=', await getSse(`${url}?token=${token}`)],
      ['Authorization: Bearer (deprecated)', await getSse(url, bearer(token))],
    ] as const) {
      expect(response.status, how).toBe(200);
      expect((await response.ended).at(-1), how).toMatchObject({ type: 'done' });
    }
    expect((await fetch(url)).status).toBe(403);
  });

  it('takes your own authenticator, e.g. a session cookie', async () => {
    const sessions = new Map([['s3cret', 'frank']]);
    const cookie: Authenticator = {
      required: true,
      authenticate: async (req) => sessions.get(/(?:^|;\s*)sid=([^;]+)/.exec(req.headers.get('cookie') ?? '')?.[1] ?? '') ?? null,
    };
    server = await startServer({}, { authenticator: cookie });
    expect((await post('/api/chat', {})).status).toBe(401);
    const ok = await postSse(`${server.url}/api/chat`, chat(3), { cookie: 'theme=dark; sid=s3cret' });
    expect(ok.status).toBe(200);
    const start = (await ok.waitForFrame((f) => f.type === 'start')) as Start;
    expect(server.core.hub.get(start.streamId)?.subject).toBe('frank');
    await ok.ended;
  });
});
