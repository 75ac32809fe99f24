import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { createChatClient, type WebSocketCtor } from '../../client/index.js';
import { createTokenwire, defineTool, memoryStore, openaiModel, simulatedModel, type Tokenwire } from '../../server/index.js';
import { redisStore } from '../../server/fleet/redis/index.js';
import { ask, nextToolCall } from '../client/fixtures.js';

// createTokenwire mounted in an app that has a life of its own: routes before and after the
// mount, its own WebSocket endpoint on the same server, its own session-style auth.

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

const weather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.strictObject({ city: z.string().min(1) }),
  run: async ({ city }) => ({ city, conditions: 'sunny', temperatureC: 21 }),
});

const open: { tw?: Tokenwire; server?: Server; wss?: WebSocketServer; sockets: Set<Socket> } = { sockets: new Set() };
afterEach(async () => {
  await open.tw?.close({ deadlineMs: 500 });
  open.wss?.close();
  // Upgraded sockets are no longer the HTTP server's to close: end every connection it accepted.
  for (const socket of open.sockets) socket.destroy();
  await new Promise<void>((resolve) => (open.server ? open.server.close(() => resolve()) : resolve()));
  open.tw = open.server = open.wss = undefined;
  open.sockets.clear();
});

/**
 * The app's session lookup, as its auth function: Express's `req.user` where the app's
 * middleware ran, else the cookie itself (a WebSocket upgrade meets no Express middleware).
 */
const sessionUser = (req: IncomingMessage | Request): string | null => {
  if ('user' in req && typeof req.user === 'string') return req.user;
  const cookie = req instanceof Request ? req.headers.get('cookie') : req.headers.cookie;
  return /(?:^|;\s*)user=([a-z]+)/.exec(cookie ?? '')?.[1] ?? null;
};

/** An Express app with routes before and after tokenwire's, and an echo WebSocket at /notifications. */
async function hostApp(tw: Tokenwire) {
  const app = express();
  // Session-style auth of the app's own: a cookie names the user.
  app.use((req, _res, next) => {
    const user = /(?:^|;\s*)user=([a-z]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (user) (req as express.Request & { user?: string }).user = user;
    next();
  });
  app.get('/before', (_req, res) => void res.json({ route: 'before' }));
  app.use(tw.router);
  app.get('/after', (req, res) => void res.json({ route: 'after', app: req.app === app }));
  app.get('/api/users', (_req, res) => void res.json({ users: ['ada'] }));
  const server = createServer(app);
  server.on('connection', (socket) => open.sockets.add(socket));
  // The app's own socket, attached before tokenwire's listener: both must keep working.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/notifications') return;
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
  });
  tw.attach(server);
  open.server = server;
  open.wss = wss;
  return listen(server);
}

describe('createTokenwire mounted in an Express app under a prefix', () => {
  it.each(['sse', 'ws'] as const)('runs an approval round trip over %s while the app keeps its own routes and socket', async (transport) => {
    const tw = (open.tw = createTokenwire({
      basePath: '/tw',
      tools: [weather],
      model: simulatedModel({ tokensPerSecond: 2000, firstTokenMs: 0 }),
      auth: { authenticate: sessionUser },
    }));
    const base = await hostApp(tw);
    const headers = { cookie: 'user=ada' };
    expect(await (await fetch(`${base}/before`)).json()).toEqual({ route: 'before' });
    expect(await (await fetch(`${base}/after`)).json()).toEqual({ route: 'after', app: true });
    // A path of the app's own under /api never meets tokenwire's authentication or 404.
    expect(await (await fetch(`${base}/api/users`)).json()).toEqual({ users: ['ada'] });

    const client = createChatClient({ baseUrl: `${base}/tw`, transport, headers: () => headers, ...(transport === 'ws' ? { WebSocket: cookieWebSocket('user=ada') } : {}) });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const call = await nextToolCall(stream);
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    await call.approve();
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(stream.toolResults).toEqual([expect.objectContaining({ callId: call.callId, ok: true })]);

    // The app's own WebSocket endpoint on the same server still answers.
    const echo = new WebSocket(`${base.replace('http', 'ws')}/notifications`);
    await new Promise((resolve) => echo.once('open', resolve));
    echo.send('hi');
    expect(String(await new Promise((resolve) => echo.once('message', resolve)))).toBe('echo:hi');
    echo.close();
  });

  it('refuses a caller without a session with 401 on its own routes only', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw', auth: { authenticate: sessionUser } }));
    const base = await hostApp(tw);
    const refused = await fetch(`${base}/tw/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await fetch(`${base}/after`)).status).toBe(200);
    // Not under the prefix: not tokenwire's, so the app's 404 (Express's own page), not tokenwire's JSON.
    const outside = await fetch(`${base}/api/chat`, { method: 'POST' });
    expect(outside.status).toBe(404);
    expect(outside.headers.get('content-type')).not.toMatch(/json/);
  });

  it("leaves other upgrades untouched: an unknown path is the app's to answer", async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw' }));
    const base = await hostApp(tw);
    // Nobody answers /elsewhere: the socket stays open, with no bytes from tokenwire, until the client gives up.
    const socket = new WebSocket(`${base.replace('http', 'ws')}/elsewhere`, { handshakeTimeout: 300 });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(`answered ${res.statusCode}`));
      socket.once('error', (error) => resolve(error.message));
    });
    expect(outcome).toMatch(/timed out/i);
  });
});

describe('createTokenwire options', () => {
  it('names an unknown key and the key it probably meant', () => {
    expect(() => createTokenwire({ basepath: '/x' } as never)).toThrow(/basepath: unknown option \(did you mean 'basePath'\?\)/);
    expect(() => createTokenwire({ limits: { maxStreamPerClient: 3 } } as never)).toThrow(/limits\.maxStreamPerClient: unknown option \(did you mean 'maxStreamsPerClient'\?\)/);
    expect(() => createTokenwire({ HEARTBEAT_MS: 5 } as never)).toThrow(/HEARTBEAT_MS: unknown option/);
  });

  it('refuses a bad value with the key and the rule', () => {
    expect(() => createTokenwire({ basePath: '/tw/' })).toThrow(/basePath: a path like '\/tw'/);
    expect(() => createTokenwire({ timeouts: { heartbeatMs: -5 } })).toThrow(/timeouts\.heartbeatMs/);
    expect(() => createTokenwire({ allowedOrigins: ['example.com'] })).toThrow(/allowedOrigins\.0: an origin/);
    expect(() => createTokenwire({ logger: { info() {} } as never })).toThrow(/logger: an object with debug, info, warn and error/);
  });

  it('takes a store only as its factory made it: a look-alike or a copy of redisStore has nothing to open', async () => {
    const storeError = /store: memoryStore\(\) or redisStore/;
    expect(() => createTokenwire({ store: { kind: 'redis' } })).toThrow(storeError);
    // Nothing connects before createTokenwire opens it, so this URL is never dialled.
    expect(() => createTokenwire({ store: { ...redisStore({ url: 'redis://127.0.0.1:1' }) } })).toThrow(storeError);
    const tw = (open.tw = createTokenwire({ store: memoryStore() }));
    await tw.ready();
    expect(tw.health()).toMatchObject({ ready: true, store: 'memory' });
  });

  it('takes any logger with the four methods, and never reads process.env', async () => {
    const lines: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (_: unknown, m?: string) => void lines.push(`warn ${m}`), error: (_: unknown, m?: string) => void lines.push(`error ${m}`) };
    process.env.HEARTBEAT_MS = 'not a number';
    process.env.AUTH = 'jwt';
    try {
      const tw = (open.tw = createTokenwire({ logger }));
      expect(tw.health()).toMatchObject({ ready: true, store: 'memory', streams: 0 });
      const response = await tw.fetch(new Request('http://h/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 3 } } }) }));
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/"type":"done"/);
    } finally {
      delete process.env.HEARTBEAT_MS;
      delete process.env.AUTH;
    }
  });
});

describe('what an adversarial trial found', () => {
  it('refuses with 404 an upgrade on another path that nobody answers, instead of holding its socket', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw' }));
    const app = express();
    app.use(tw.router);
    const server = (open.server = createServer(app));
    server.on('connection', (socket) => open.sockets.add(socket));
    tw.attach(server, { unhandledUpgradeTimeoutMs: 50 });
    const base = await listen(server);
    const socket = new WebSocket(`${base.replace('http', 'ws')}/other`);
    const status = await new Promise<number | string>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', (error) => resolve(error.message));
    });
    expect(status).toBe(404);
    expect(tw.wsPath).toBe('/tw/ws');
  });

  it('answers 413 on tw.fetch past 1 MiB, as tw.router does, without reading it all', async () => {
    const tw = (open.tw = createTokenwire());
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] });
    for (const path of ['/api/chat', '/api/approvals/call_x']) {
      const answer = await tw.fetch(new Request(`http://h${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }));
      expect(answer.status).toBe(413);
      expect(await answer.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    }
  });

  it('answers a known path with another method 405 with Allow on tw.router too, and lets OPTIONS go on', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw' }));
    const base = await hostApp(tw);
    const wrong = await fetch(`${base}/tw/api/chat`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    expect((await fetch(`${base}/tw/api/streams/st_x`, { method: 'PUT' })).headers.get('allow')).toBe('GET, HEAD, DELETE');
  });

  it('answers its socket path typed after close() and without an upgrade, never with the app\'s HTML 404', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw' }));
    const base = await hostApp(tw);
    const plain = await fetch(`${base}/tw/ws`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: { code: 'invalid_request' } });
    expect((await tw.fetch(new Request('http://h/tw/ws'))).status).toBe(400);
    await tw.close({ deadlineMs: 500 });
    const socket = new WebSocket(`${base.replace('http', 'ws')}/tw/ws`);
    const status = await new Promise<number | string>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', (error) => resolve(error.message));
    });
    expect(status).toBe(503);
  });

  it('names misspelt options of the model factories and bad tool definitions', () => {
    expect(() => openaiModel({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1/v1' } as never)).toThrow(/baseUrl: unknown option \(did you mean 'baseURL'\?\)/);
    expect(() => simulatedModel({ tokensPerSec: 5 } as never)).toThrow(/tokensPerSec: unknown option \(did you mean 'tokensPerSecond'\?\)/);
    const tool = (name: string, parameters: unknown = z.object({})) => defineTool({ name, description: '', parameters: parameters as z.ZodObject, run: async () => null });
    expect(() => tool('has space!')).toThrow(/name "has space!" must be 1-64 letters/);
    expect(() => tool('x'.repeat(65))).toThrow(/must be 1-64/);
    expect(() => tool('s', z.string())).toThrow(/parameters must describe an object/);
    expect(() => tool('j', { type: 'string' })).toThrow(/parameters must describe an object/);
    expect(() => tool('n', 42)).toThrow(/parameters must be a Standard Schema .* or a JSON Schema object/);
    expect(() => createTokenwire({ tools: [tool('same'), tool('same')] })).toThrow(/two tools are named "same"/);
    expect(() => createTokenwire({ basePath: '/a/../b' })).toThrow(/basePath: no \. or \.\. segments/);
  });
});

describe('tw.fetch under a base path', () => {
  it('serves the routes under the prefix and 404s the rest as JSON', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw', model: simulatedModel({ tokensPerSecond: 2000, firstTokenMs: 0 }) }));
    const outside = await tw.fetch(new Request('http://h/api/chat', { method: 'POST' }));
    expect(outside.status).toBe(404);
    expect(await outside.json()).toMatchObject({ error: { code: 'not_found' } });
    const wrongMethod = await tw.fetch(new Request('http://h/tw/api/chat'));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const started = await tw.fetch(new Request('http://h/tw/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 4 } } }) }));
    const text = await started.text();
    const streamId = started.headers.get('x-tokenwire-stream-id')!;
    const token = /"streamToken":"([^"]+)"/.exec(text)?.[1];
    expect(text).toMatch(/"type":"done"/);
    const audit = await tw.fetch(new Request(`http://h/tw/api/streams/${streamId}/approvals?token=${token}`));
    expect(await audit.json()).toEqual({ streamId, approvals: [] });
    const after = await tw.fetch(new Request(`http://h/tw/api/streams/${streamId}?token=${token}`, { headers: { 'last-event-id': '999' } }));
    expect(after.status).toBe(204); // after `done`, as on the native route
  });
});

describe('the AI SDK and AG-UI wires on both mounts', () => {
  it('serves the AI SDK UI message stream on tw.fetch and on tw.router, under the prefix', async () => {
    const tw = (open.tw = createTokenwire({ basePath: '/tw', model: simulatedModel({ tokensPerSecond: 2000, firstTokenMs: 0 }) }));
    const body = JSON.stringify({ id: 'chat-1', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] });
    const viaFetch = await tw.fetch(new Request('http://h/tw/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    expect(viaFetch.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(await viaFetch.text()).toMatch(/"type":"finish"[\s\S]*data: \[DONE\]/);
    const base = await hostApp(tw);
    const viaRouter = await fetch(`${base}/tw/api/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ threadId: 't1', runId: 'r1', messages: [{ id: 'm1', role: 'user', content: 'hi' }], tools: [], context: [], state: {}, forwardedProps: {} }),
    });
    expect(viaRouter.status).toBe(200);
    expect(await viaRouter.text()).toMatch(/"type":"RUN_FINISHED"/);
  });
});

/** A WebSocket constructor that sends a cookie on the upgrade, as a browser does for its own origin. */
function cookieWebSocket(cookie: string) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } });
    }
  } as unknown as WebSocketCtor;
}
