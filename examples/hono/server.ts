/**
 * A Hono app (on Node through @hono/node-server) with its own routes and session login, that
 * hands `/tw/*` to tokenwire's fetch handler: chats stream over SSE, and the model's
 * `refund_order` calls wait for the user's approval (`POST /tw/api/approvals/:callId`).
 * `tw.fetch` takes a WHATWG Request, so the same line works on Bun, Deno and Workers-style hosts.
 *
 *   node server.ts          (PORT=3000 by default; Node 22.18+ runs TypeScript as is)
 *   node client.ts          (a chat that asks for a refund and approves it)
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { createTokenwire, defineTool, ToolError, type ModelProvider } from 'tokenwire';
import { z } from 'zod';

// --- The app as it was before tokenwire: orders and sessions -------------------------------

interface Order {
  id: string;
  owner: string;
  total: number;
  refunded: number;
}
const orders = new Map<string, Order>([
  ['A-1001', { id: 'A-1001', owner: 'ada', total: 120, refunded: 0 }],
  ['A-1002', { id: 'A-1002', owner: 'ada', total: 80, refunded: 0 }],
]);

/** Session id (the `sid` cookie) → user name. */
const sessions = new Map<string, string>();
const userOf = (sid: string | undefined): string | undefined => (sid === undefined ? undefined : sessions.get(sid));
const sidIn = (cookieHeader: string | null | undefined) => /(?:^|;\s*)sid=([\w-]+)/.exec(cookieHeader ?? '')?.[1];

// --- What tokenwire gets: a tool that needs approval, and a model -------------------------

const refundOrder = defineTool({
  name: 'refund_order',
  description: 'Refund part or all of an order.',
  parameters: z.strictObject({ orderId: z.string().min(1), amount: z.number().positive() }),
  // needsApproval defaults to true: this runs only once the user approved the call.
  run: async ({ orderId, amount }) => {
    const order = orders.get(orderId);
    if (!order) throw new ToolError('unknown_order', `There is no order ${orderId}.`);
    if (order.refunded + amount > order.total) throw new ToolError('over_refund', `Order ${orderId} has only ${order.total - order.refunded} left to refund.`);
    order.refunded += amount;
    return { orderId, refunded: amount, refundedTotal: order.refunded };
  },
});

/** What the engine tells the model about a tool call, as the tool message's JSON. */
const ToolOutcome = z.object({
  ok: z.boolean(),
  result: z.object({ orderId: z.string(), refunded: z.number() }).optional(),
  error: z.object({ message: z.string() }).optional(),
});

/**
 * A model of our own (any object with `name`, `defaultModel` and `stream`): it asks for
 * `refund_order` when the user names an order and an amount, then answers from the outcome.
 */
const refundDesk: ModelProvider = {
  name: 'refund-desk',
  defaultModel: 'refund-desk-1',
  async *stream({ messages, tools }) {
    const last = messages.at(-1);
    const answer = (text: string) => [...text.split(/(?<= )/).map((word) => ({ type: 'text', text: word }) as const), { type: 'finish', reason: 'stop' } as const];
    if (last?.role === 'tool') {
      const outcome = ToolOutcome.parse(JSON.parse(last.content));
      yield* answer(outcome.result ? `Refunded ${outcome.result.refunded} on order ${outcome.result.orderId}.` : `No refund was made: ${outcome.error?.message ?? 'unknown reason'}`);
      return;
    }
    const wanted = /order\s+([\w-]+)\D+(\d+(?:\.\d+)?)/i.exec(last?.role === 'user' ? last.content : '');
    if (!wanted?.[1] || !wanted[2] || !tools.some((tool) => tool.name === 'refund_order')) {
      yield* answer('Tell me the order and the amount, e.g. "refund order A-1001 by 25".');
      return;
    }
    const args = { orderId: wanted[1], amount: Number(wanted[2]) };
    yield { type: 'tool_call_delta', index: 0, id: 'refund-1', name: 'refund_order', argumentsDelta: JSON.stringify(args) };
    yield { type: 'finish', reason: 'tool_calls' };
  },
};

const tw = createTokenwire({
  basePath: '/tw',
  model: refundDesk,
  tools: [refundOrder],
  // tw.fetch hands the app's function the WHATWG Request: the session cookie is on it.
  auth: { authenticate: (req) => userOf(sidIn(req instanceof Request ? req.headers.get('cookie') : req.headers.cookie)) },
});

// --- The Hono app: its routes before tokenwire's, tokenwire under /tw, its routes after ------

const app = new Hono();
app.post('/login', async (c) => {
  const body: unknown = await c.req.json().catch(() => undefined);
  const user = typeof body === 'object' && body !== null && 'user' in body && typeof body.user === 'string' ? body.user : '';
  if (!/^[a-z]{1,32}$/.test(user)) return c.json({ error: 'give { "user": "name" }' }, 400);
  const sid = crypto.randomUUID();
  sessions.set(sid, user);
  setCookie(c, 'sid', sid, { httpOnly: true, sameSite: 'Lax', path: '/' });
  return c.json({ user });
});
app.get('/healthz', (c) => c.json(tw.health(), tw.health().ready ? 200 : 503));
app.get('/metrics', async (c) => c.text(await tw.metrics.metrics(), 200, { 'content-type': tw.metrics.contentType }));

app.all('/tw/*', (c) => tw.fetch(c.req.raw));

app.get('/api/orders/:id', (c) => {
  const order = orders.get(c.req.param('id'));
  if (!order || order.owner !== userOf(getCookie(c, 'sid'))) return c.json({ error: 'no such order' }, 404);
  return c.json(order);
});
app.notFound((c) => c.json({ error: 'not found' }, 404));

const server = serve({ fetch: app.fetch, port: Number(process.env['PORT'] ?? 3000), hostname: process.env['HOST'] ?? '127.0.0.1' }, (info: AddressInfo) => {
  console.log(`listening on http://${info.address}:${info.port}`);
});

// A graceful stop: running answers may finish within the deadline, only what is left ends with
// `server_shutdown`; then the server closes.
process.once('SIGTERM', async () => {
  await tw.close({ deadlineMs: 5_000 });
  server.close(() => process.exit(0));
  if ('closeAllConnections' in server) server.closeAllConnections();
});
