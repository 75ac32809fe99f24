import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loginTo, packedApp, type PackedApp, type RunningApp } from '../helpers/packed-app.js';

// examples/express as a user runs it: tokenwire installed from the packed tarball, the app
// type-checked with strict settings and run by node, driven through `tokenwire/client` from
// the same tarball. tokenwire is mounted under /tw beside the app's own routes and socket.

type Client = typeof import('../../client/index.js');

let app: PackedApp;
let server: RunningApp;
let client: Client;

beforeAll(async () => {
  app = await packedApp();
  client = await app.importPackage<Client>('tokenwire/client');
  server = await app.start('server.ts', { cwd: join(app.dir, 'express') });
}, 300_000);
afterAll(async () => {
  // SIGTERM: the example closes tokenwire, then its server, and exits 0.
  if (server) expect(await server.stop()).toBe(0);
});

/** Logs in through the app's own route; the session cookie it sets. */
const login = (user = 'ada') => loginTo(server.url, user);

/** The app's own WebSocket, with the first message it pushes. */
async function notifications(cookie: string): Promise<{ next: Promise<unknown>; close(): void }> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/notifications`, { headers: { cookie } });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const next = new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
  return { next, close: () => socket.close() };
}

describe('examples/express, installed from the tarball', () => {
  it.each(['NodeNext', 'Bundler'] as const)('type-checks with strict settings and %s resolution, no errors', async (resolution) => {
    const result = await app.typecheck(['express'], { resolution });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    ['sse', 'A-1001'],
    ['ws', 'A-1002'],
  ] as const)('refunds an order once the user approves, over %s under /tw, while the app keeps its own socket', async (transport, orderId) => {
    const cookie = await login();
    const pushed = await notifications(cookie);
    const chats = client.createChatClient({ baseUrl: `${server.url}/tw`, transport, headers: () => ({ cookie }), WebSocket });
    try {
      const stream = chats.chat({ messages: [{ role: 'user', content: `Please refund order ${orderId} by 25` }], tools: ['refund_order'] });
      const call = await new Promise<import('../../client/index.js').ToolCall>((resolve) => stream.on('tool_call', resolve));
      expect(call).toMatchObject({ name: 'refund_order', args: { orderId, amount: 25 }, approval: 'required' });
      // Nothing is refunded before the approval.
      expect(await (await fetch(`${server.url}/api/orders/${orderId}`, { headers: { cookie } })).json()).toMatchObject({ refunded: 0 });
      await call.approve();
      const result = await stream.result;
      expect(result).toMatchObject({ reason: 'stop', transport, text: `Refunded 25 on order ${orderId}.` });
      expect(stream.toolResults).toEqual([expect.objectContaining({ callId: call.callId, ok: true })]);
      // The tool ran in the app: its own socket heard it and its own route (after the mount) shows it.
      expect(await pushed.next).toEqual({ type: 'refund', orderId, amount: 25 });
      expect(await (await fetch(`${server.url}/api/orders/${orderId}`, { headers: { cookie } })).json()).toMatchObject({ id: orderId, refunded: 25 });
    } finally {
      chats.close();
      pushed.close();
    }
  });

  it('a denied call runs nothing, and the model says so', async () => {
    const cookie = await login();
    const chats = client.createChatClient({ baseUrl: `${server.url}/tw`, transport: 'ws', headers: () => ({ cookie }), WebSocket });
    try {
      const stream = chats.chat({ messages: [{ role: 'user', content: 'Refund order A-1003 by 10' }], tools: ['refund_order'] });
      const call = await new Promise<import('../../client/index.js').ToolCall>((resolve) => stream.on('tool_call', resolve));
      await call.deny('not this one');
      expect((await stream.result).text).toMatch(/^No refund was made: The user denied this call: not this one/);
      expect(await (await fetch(`${server.url}/api/orders/A-1003`, { headers: { cookie } })).json()).toMatchObject({ refunded: 0 });
    } finally {
      chats.close();
    }
  });

  it("answers the app's routes before and after the mount, and tokenwire's only under /tw", async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ready: true, store: 'memory' });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^# HELP tokenwire_/m);
    // Without a session: tokenwire's typed 401 under /tw, the app's own answers elsewhere.
    const refused = await fetch(`${server.url}/tw/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[{"role":"user","content":"hi"}]}' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const order = await fetch(`${server.url}/api/orders/A-1001`);
    expect([order.status, await order.json()]).toEqual([404, { error: 'no such order' }]);
    const elsewhere = await fetch(`${server.url}/api/chat`, { method: 'POST' });
    expect([elsewhere.status, await elsewhere.json()]).toEqual([404, { error: 'not found' }]);
    // The app's socket refuses an upgrade without a session; tokenwire never saw it.
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/notifications`);
    const status = await new Promise((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode)).once('error', () => resolve('error')));
    expect(status).toBe(401);
  });

  it('its client script (tokenwire/client in Node) approves a refund over the WebSocket', async () => {
    const result = await app.run(process.execPath, ['client.ts', 'ws', 'refund order A-1001 by 5'], { cwd: join(app.dir, 'express'), env: { APP_URL: server.url }, timeoutMs: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('approving refund_order {"orderId":"A-1001","amount":5}\nRefunded 5 on order A-1001.\n[stop over ws]\n');
    expect(result.code).toBe(0);
  });
});
