import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../server/index.js';
import { redisStore } from '../../server/fleet/redis/index.js';
import { KEYS } from '../../server/fleet/redis/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { decide, openChat, startToolApp, type Chat, type ToolApp, type TransportName } from '../helpers/tool-app.js';

// A decision that reaches an instance other than the one running the stream: the tool's
// authorize, an edit's schema and a denial's code are all applied where the call waits.

const runs: unknown[] = [];
const refund = defineTool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.strictObject({ orderId: z.string().min(1), amount: z.number().positive().max(1_000) }),
  approval: { authorize: (decider) => decider.owns || decider.subject === 'supervisor' },
  async run(args) {
    runs.push(args);
    return { refunded: args.amount };
  },
});

/** A tool with no rule of its own: only the stream's subject decides. */
const note = defineTool({
  name: 'note',
  description: 'Writes a note.',
  parameters: z.strictObject({ text: z.string() }),
  run: async ({ text }) => text,
});

let redis: RedisServer;
const open: { owner?: ToolApp; other?: ToolApp; chats: Chat[] } = { chats: [] };
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const chat of open.chats.splice(0)) chat.close();
  await Promise.all([open.owner?.close(), open.other?.close()]);
  open.owner = open.other = undefined;
});

async function fleet() {
  runs.length = 0;
  open.owner = await startToolApp([refund, note], { store: redisStore({ url: redis.url }) });
  open.other = await startToolApp([refund, note], { store: redisStore({ url: redis.url }) });
  return { owner: open.owner, other: open.other };
}

describe.each<TransportName>(['sse', 'ws'])('tool decisions on a non-owner instance over %s', (transport) => {
  it('admits a supervisor through authorize and refuses a stranger; the call stays pending for the next decider', async () => {
    const { owner, other } = await fleet();
    const chat = await openChat(owner, transport, 'clerk', 'refund', { orderId: 'o1', amount: 300 });
    open.chats.push(chat);
    const call = await chat.call();
    expect(await decide(other, transport, 'mallory', call.callId, { decision: 'approve' }, chat)).toBe('forbidden');
    expect(await decide(other, transport, 'supervisor', call.callId, { decision: 'approve' }, chat)).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: true, result: { refunded: 300 } });
    expect(runs).toEqual([{ orderId: 'o1', amount: 300 }]);
  });

  it('validates an edit where the call waits: a bad one leaves it pending, a good one runs', async () => {
    const { owner, other } = await fleet();
    const chat = await openChat(owner, transport, 'clerk', 'refund', { orderId: 'o2', amount: 900 });
    open.chats.push(chat);
    const call = await chat.call();
    expect(await decide(other, transport, 'clerk', call.callId, { decision: 'approve', args: { orderId: 'o2', amount: 5_000 } }, chat)).toBe('invalid_arguments');
    expect(await decide(other, transport, 'clerk', call.callId, { decision: 'approve', args: { orderId: 'o2', amount: 90 } }, chat)).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: true, edited: true, args: { orderId: 'o2', amount: 90 } });
    expect(runs).toEqual([{ orderId: 'o2', amount: 90 }]);
  });

  it("carries a denial's code to the owner and on to the model", async () => {
    const { owner, other } = await fleet();
    const chat = await openChat(owner, transport, 'clerk', 'refund', { orderId: 'o3', amount: 700 });
    open.chats.push(chat);
    const call = await chat.call();
    expect(await decide(other, transport, 'clerk', call.callId, { decision: 'deny', code: 'over_limit' }, chat)).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: false, error: { code: 'denied' }, denial: { code: 'over_limit' } });
    await chat.done();
    expect(JSON.parse(owner.model.requests[1]?.messages.at(-1)?.content ?? '')).toMatchObject({ denial: { code: 'over_limit' } });
  });

  it('refuses a stranger at once for a tool without a rule: nothing is recorded, the owner decides next', async () => {
    const { owner, other } = await fleet();
    const chat = await openChat(owner, transport, 'clerk', 'note', { text: 'hi' });
    open.chats.push(chat);
    const call = await chat.call();
    expect(await decide(other, transport, 'mallory', call.callId, { decision: 'approve' }, chat)).toBe('forbidden');
    const client = new Redis(redis.url);
    try {
      expect(await client.hget(KEYS.call(call.callId), 'state')).toBe('pending');
    } finally {
      client.disconnect();
    }
    expect(await decide(other, transport, 'clerk', call.callId, { decision: 'approve' }, chat)).toBe('accepted');
  });
});
