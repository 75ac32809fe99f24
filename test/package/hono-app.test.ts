import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginTo, packedApp, type PackedApp, type RunningApp } from '../helpers/packed-app.js';

// examples/hono as a user runs it: tokenwire installed from the packed tarball, mounted with
// `app.all('/tw/*', (c) => tw.fetch(c.req.raw))` on @hono/node-server, type-checked with strict
// settings, run by node and driven over SSE through `tokenwire/client` from the same tarball.

type Client = typeof import('../../client/index.js');

let app: PackedApp;
let server: RunningApp;
let client: Client;

beforeAll(async () => {
  app = await packedApp();
  client = await app.importPackage<Client>('tokenwire/client');
  server = await app.start('server.ts', { cwd: join(app.dir, 'hono') });
}, 300_000);
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});

/** Logs in through the app's own route; the session cookie it sets. */
const login = (user = 'ada') => loginTo(server.url, user);

describe('examples/hono, installed from the tarball', () => {
  // Hono's own declarations name DOM types (BufferSource), so this app compiles with the DOM lib.
  it.each(['NodeNext', 'Bundler'] as const)('type-checks with strict settings and %s resolution, no errors', async (resolution) => {
    const result = await app.typecheck(['hono'], { resolution, dom: true });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refunds an order once the user approves, over SSE through tw.fetch, the decision an HTTP POST', async () => {
    const cookie = await login();
    const chats = client.createChatClient({ baseUrl: `${server.url}/tw`, transport: 'sse', headers: () => ({ cookie }) });
    try {
      const stream = chats.chat({ messages: [{ role: 'user', content: 'Please refund order A-1002 by 30' }], tools: ['refund_order'] });
      const call = await new Promise<import('../../client/index.js').ToolCall>((resolve) => stream.on('tool_call', resolve));
      expect(call).toMatchObject({ name: 'refund_order', args: { orderId: 'A-1002', amount: 30 }, approval: 'required' });
      expect(await (await fetch(`${server.url}/api/orders/A-1002`, { headers: { cookie } })).json()).toMatchObject({ refunded: 0 });
      await call.approve();
      const result = await stream.result;
      expect(result).toMatchObject({ reason: 'stop', transport: 'sse', text: 'Refunded 30 on order A-1002.' });
      expect(stream.toolResults).toEqual([expect.objectContaining({ callId: call.callId, ok: true })]);
      expect(await (await fetch(`${server.url}/api/orders/A-1002`, { headers: { cookie } })).json()).toMatchObject({ id: 'A-1002', refunded: 30 });
    } finally {
      chats.close();
    }
  });

  it("answers the app's routes before and after /tw/*, and tokenwire's typed errors under it", async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ready: true, store: 'memory' });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^# HELP tokenwire_/m);
    const refused = await fetch(`${server.url}/tw/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[{"role":"user","content":"hi"}]}' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    // Everything under /tw/ is handed to tokenwire: an unknown path there is its JSON 404.
    const unknown = await fetch(`${server.url}/tw/elsewhere`, { headers: { cookie: await login() } });
    expect([unknown.status, await unknown.json()]).toMatchObject([404, { error: { code: 'not_found' } }]);
    const order = await fetch(`${server.url}/api/orders/A-1001`);
    expect([order.status, await order.json()]).toEqual([404, { error: 'no such order' }]);
    const elsewhere = await fetch(`${server.url}/api/chat`, { method: 'POST' });
    expect([elsewhere.status, await elsewhere.json()]).toEqual([404, { error: 'not found' }]);
  });

  it('its client script (tokenwire/client in Node) approves a refund over SSE', async () => {
    const result = await app.run(process.execPath, ['client.ts', 'refund order A-1001 by 5'], { cwd: join(app.dir, 'hono'), env: { APP_URL: server.url }, timeoutMs: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('approving refund_order {"orderId":"A-1001","amount":5}\nRefunded 5 on order A-1001.\n[stop over sse]\n');
    expect(result.code).toBe(0);
  });
});
