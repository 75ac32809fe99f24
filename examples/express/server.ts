/**
 * An Express app that already has its own routes, its own session login and its own WebSocket,
 * and adds tokenwire under `/tw`: chats stream over SSE (`/tw/api/*`) or WebSocket (`/tw/ws`),
 * and the model's `refund_order` calls wait for the user's approval before they run.
 *
 *   node server.ts          (PORT=3000 by default; Node 22.18+ runs TypeScript as is)
 *   node client.ts ws       (a chat that asks for a refund and approves it)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createTokenwire, defineTool, ToolError, type ModelProvider } from 'tokenwire';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';

// --- The app as it was before tokenwire: orders, sessions, notifications --------------------

interface Order {
  id: string;
  owner: string;
  total: number;
  refunded: number;
}
const orders = new Map<string, Order>([
  ['A-1001', { id: 'A-1001', owner: 'ada', total: 120, refunded: 0 }],
  ['A-1002', { id: 'A-1002', owner: 'ada', total: 80, refunded: 0 }],
  ['A-1003', { id: 'A-1003', owner: 'ada', total: 45, refunded: 0 }],
]);

/** Session id (the `sid` cookie) → user name. */
const sessions = new Map<string, string>();
const userOf = (cookieHeader: string | null | undefined): string | undefined => {
  const sid = /(?:^|;\s*)sid=([\w-]+)/.exec(cookieHeader ?? '')?.[1];
  return sid === undefined ? undefined : sessions.get(sid);
};

/** The app's own WebSocket at /notifications: each user's open sockets hear about their refunds. */
const notifications = new WebSocketServer({ noServer: true });
const socketsOf = new Map<string, Set<WebSocket>>();
const notify = (user: string, message: object) => {
  for (const socket of socketsOf.get(user) ?? []) socket.send(JSON.stringify(message));
};

// --- What tokenwire gets: a tool that needs approval, and a model -------------------------

const refundOrder = defineTool({
  name: 'refund_order',
  description: 'Refund part or all of an order.',
  parameters: z.strictObject({ orderId: z.string().min(1), amount: z.number().positive() }),
  // needsApproval defaults to true: this runs only once the user approved the call.
  approval: {
    // What the approval card shows beside the arguments: the app's own view of the order.
    display: ({ orderId, amount }) => {
      const order = orders.get(orderId);
      return order ? { orderId, amount, total: order.total, alreadyRefunded: order.refunded } : { orderId, amount, unknownOrder: true };
    },
  },
  run: async ({ orderId, amount }) => {
    const order = orders.get(orderId);
    if (!order) throw new ToolError('unknown_order', `There is no order ${orderId}.`);
    if (order.refunded + amount > order.total) throw new ToolError('over_refund', `Order ${orderId} has only ${order.total - order.refunded} left to refund.`);
    order.refunded += amount;
    notify(order.owner, { type: 'refund', orderId, amount });
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
  // The app's session, on tokenwire's HTTP routes and on its WebSocket upgrade alike.
  auth: { authenticate: (req) => userOf(req instanceof Request ? req.headers.get('cookie') : req.headers.cookie) },
});

// --- The Express app: its routes before the mount, tokenwire, its routes after ---------------

const app = express();
app.use(express.json());
app.post('/login', (req, res) => {
  const user = typeof req.body?.user === 'string' ? req.body.user : '';
  if (!/^[a-z]{1,32}$/.test(user)) return void res.status(400).json({ error: 'give { "user": "name" }' });
  const sid = crypto.randomUUID();
  sessions.set(sid, user);
  res.cookie('sid', sid, { httpOnly: true, sameSite: 'lax' }).json({ user });
});
app.get('/healthz', (_req, res) => void res.status(tw.health().ready ? 200 : 503).json(tw.health()));
app.get('/metrics', async (_req, res) => void res.type(tw.metrics.contentType).send(await tw.metrics.metrics()));

app.use(tw.router); // /tw/api/*: everything else goes on to the routes below

app.get('/api/orders/:id', (req, res) => {
  const order = orders.get(req.params.id);
  if (!order || order.owner !== userOf(req.headers.cookie)) return void res.status(404).json({ error: 'no such order' });
  res.json(order);
});
app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

const server = createServer(app);
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/notifications') return; // /tw/ws is tokenwire's
  const user = userOf(req.headers.cookie);
  if (!user) return void socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  notifications.handleUpgrade(req, socket, head, (ws) => {
    const mine = socketsOf.get(user) ?? new Set();
    socketsOf.set(user, mine.add(ws));
    ws.on('close', () => mine.delete(ws));
  });
});
tw.attach(server); // answers upgrades on /tw/ws only

server.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`listening on http://${address}:${port}`);
});

// A graceful stop: running answers may finish within the deadline, only what is left ends with
// `server_shutdown`; then the app closes its own server.
process.once('SIGTERM', async () => {
  await tw.close({ deadlineMs: 5_000 });
  for (const socket of notifications.clients) socket.close(1001);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
