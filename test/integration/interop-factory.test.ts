import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/settings/config.js';
import { createCore, type Core } from '../../server/service/core.js';
import { createInterop } from '../../server/edge/interop/interop.js';
import { createLogger } from '../../server/observability/log.js';
import { waitFor } from '../helpers/events.js';
import { toRequest, writeResponse } from '../helpers/interop-servers.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';

// createInterop(core): `routes` on an Express router mounted under a prefix and `handle` for web
// Requests, side by side on one core, as an app that mounts tokenwire would use them.

let core: Core | undefined;
let http: Server | undefined;
afterEach(async () => {
  await core?.control.shutdown(1_000);
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  core = http = undefined;
});

/** One core's interop on `/ext` (an Express router, nothing else of tokenwire's app) and on `/web` (`handle`). */
async function start(env: Record<string, string> = {}) {
  const config = loadConfig({ LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', AUTH: 'jwt', JWT_SECRET: HS_SECRET, SIM_TOKENS_PER_SECOND: '50', ...env });
  core = createCore(config, { log: createLogger(config) });
  const interop = createInterop(core);
  const router = express.Router();
  interop.routes(router);
  const app = express();
  app.use('/ext', router);
  http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/web/')) return void app(req, res);
    void interop.handle(toRequest(req, res, url), url.pathname.slice('/web'.length)).then((response) => writeResponse(res, response ?? new Response(null, { status: 404 })));
  });
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, interop };
}

const bearer = async (sub: string) => ({ authorization: `Bearer ${await signJwt({ sub })}` });
const chat = (id: string, options: object = {}) => ({ id, messages: [{ id: 'u-1', role: 'user', parts: [{ type: 'text', text: 'Tell me a story' }] }], options });

describe('createInterop(core)', () => {
  it('routes: the same absolute paths on a router under a prefix, which identifies the caller itself (401 without a token)', async () => {
    const { url } = await start();
    const post = (headers: Record<string, string>) =>
      fetch(`${url}/ext/api/ai-sdk/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(chat('c-1', { simulate: { tokens: 2 } })) });
    const anonymous = await post({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await anonymous.json()).error.code).toBe('unauthorized');
    const alice = await post(await bearer('alice'));
    expect(alice.status).toBe(200);
    expect(core!.hub.get(alice.headers.get('x-tokenwire-stream-id')!)!.subject).toBe('alice');
    expect(await alice.text()).toMatch(/data: \[DONE\]\n\n$/);
  });

  it('routes and handle share one conversation store: a chat started through Express resumes and is cancelled through handle', async () => {
    const { url } = await start();
    const alice = await bearer('alice');
    const controller = new AbortController();
    const started = await fetch(`${url}/ext/api/ai-sdk/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...alice },
      body: JSON.stringify(chat('c-shared', { resumeGraceMs: 60_000, simulate: { tokens: 5_000 } })),
      signal: controller.signal,
    });
    const streamId = started.headers.get('x-tokenwire-stream-id')!;
    controller.abort();
    const resumed = await fetch(`${url}/web/api/ai-sdk/chat/c-shared/stream`, { headers: { ...alice, 'last-event-id': '0' } });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('x-tokenwire-stream-id')).toBe(streamId);
    expect(resumed.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    await resumed.body!.cancel();
    // Another subject on the web side finds nothing under that chat id.
    expect((await fetch(`${url}/web/api/ai-sdk/chat/c-shared/stream`, { method: 'DELETE', headers: await bearer('bob') })).status).toBe(404);
    const cancelled = await fetch(`${url}/web/api/ai-sdk/chat/c-shared/stream`, { method: 'DELETE', headers: alice });
    expect(await cancelled.json()).toEqual({ ok: true, cancelled: true });
    await waitFor(() => core!.hub.get(streamId)!.done, 'the stream to end');
  });

  it('handle: undefined for what is no interop route; the typed 401 and 400 for what is', async () => {
    const { interop } = await start();
    const ask = (method: string, path: string, init: RequestInit = {}) => interop.handle(new Request(`http://app.test/prefix${path}`, { method, ...init }), path);
    for (const [method, path] of [
      ['GET', '/api/ai-sdk/chat'],
      ['PUT', '/api/ai-sdk/chat'],
      ['POST', '/api/ai-sdk/chat/c-1/stream'],
      ['GET', '/api/ag-ui'],
      ['POST', '/api/chat'],
      ['GET', '/api/ai-sdk/chat/a/b/stream'],
      ['POST', '/prefix/api/ag-ui'],
    ] as const) {
      expect(await ask(method, path), `${method} ${path}`).toBeUndefined();
    }
    const anonymous = await ask('POST', '/api/ag-ui', { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous?.status).toBe(401);
    const auth = await bearer('alice');
    const badId = await ask('GET', '/api/ai-sdk/chat/%E0%A4%A/stream', { headers: auth });
    expect(badId?.status).toBe(400);
    expect((await badId!.json()).error.code).toBe('invalid_request');
    const notJson = await ask('POST', '/api/ag-ui', { headers: { 'content-type': 'text/plain', ...auth }, body: '{}' });
    expect(notJson?.status).toBe(415);
    const tooLarge = await ask('POST', '/api/ai-sdk/chat', { headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }) });
    expect(tooLarge?.status).toBe(413);
    expect((await tooLarge!.json()).error.code).toBe('payload_too_large');
    const garbage = await ask('POST', '/api/ai-sdk/chat', { headers: { 'content-type': 'application/json; charset=utf-8', ...auth }, body: '{"id":' });
    expect(garbage?.status).toBe(400);
    expect((await garbage!.json()).error.message).toBe('The body is not valid JSON.');
  });
});
