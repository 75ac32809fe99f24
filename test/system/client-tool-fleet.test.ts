import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineClientTool } from '../../server/index.js';
import { redisStore } from '../../server/fleet/redis/index.js';
import { KEYS } from '../../server/fleet/redis/keys.js';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { decide, openChat, startToolApp, type Chat, type ToolApp } from '../helpers/tool-app.js';

// Client tools on a fleet of two instances on one real redis-server: a call's record says what
// it waits for, so a stray answer of the other kind is refused as one process refuses it.

/** Waits only for the browser's output. */
const clock = defineClientTool({ name: 'clock', description: 'The browser time.', parameters: z.strictObject({}) });
/** Waits for a person's approval, then for the browser's output. */
const locate = defineClientTool({ name: 'locate', description: 'Where the user is.', parameters: z.strictObject({}), needsApproval: true });

let redis: RedisServer;
let client: Redis;
const open: { apps: ToolApp[]; chats: Chat[] } = { apps: [], chats: [] };
beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  for (const chat of open.chats.splice(0)) chat.close();
  await Promise.all(open.apps.splice(0).map((app) => app.close()));
});

async function fleet() {
  const owner = await startToolApp([clock, locate], { store: redisStore({ url: redis.url }) });
  const other = await startToolApp([clock, locate], { store: redisStore({ url: redis.url }) });
  open.apps.push(owner, other);
  return { owner, other };
}

async function chatOn(app: ToolApp, tool: string) {
  const chat = await openChat(app, 'sse', 'clerk', tool, {});
  open.chats.push(chat);
  const start = (await chat.waitFor((f) => f.type === 'start')) as ServerFrameOf<'start'>;
  return { chat, token: start.streamToken as string };
}

/** `POST /api/tool-outputs/:callId` as the stream's subject: `accepted`, or the refusal's code. */
async function answer(app: ToolApp, callId: string, token: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${app.url}/api/tool-outputs/${encodeURIComponent(callId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('clerk')}`, 'x-stream-token': token },
    body: JSON.stringify(body),
  });
  if (response.ok) return 'accepted';
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe('client tools on a fleet: a stray answer of the wrong kind', () => {
  it('a tool_output for a call waiting for its approval is refused unknown_call, and the approval and output that follow run it', async () => {
    const { owner, other } = await fleet();
    const { chat, token } = await chatOn(owner, 'locate');
    const call = await chat.call();
    expect(await answer(other, call.callId, token, { output: 'early' })).toBe('unknown_call');
    expect(await client.hget(KEYS.call(call.callId), 'state')).toBe('pending');
    expect(await decide(other, 'sse', 'clerk', call.callId, { decision: 'approve' }, chat)).toBe('accepted');
    await chat.waitFor((f) => f.type === 'tool_run');
    expect(await answer(other, call.callId, token, { output: { city: 'Paris' } })).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: true, result: { city: 'Paris' } });
  });

  it('an approve for a call waiting only for its output is refused unknown_call, and the output that follows is taken', async () => {
    const { owner, other } = await fleet();
    const { chat, token } = await chatOn(owner, 'clock');
    const run = (await chat.waitFor((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(await decide(other, 'sse', 'clerk', run.callId, { decision: 'approve' }, chat)).toBe('unknown_call');
    expect(await client.hget(KEYS.call(run.callId), 'state')).toBe('pending');
    expect(await answer(other, run.callId, token, { output: '12:00' })).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: true, result: '12:00' });
  });

  it('a repeated approve for an approved call now waiting for its output is refused already_decided, and the output is taken', async () => {
    const { owner, other } = await fleet();
    const { chat, token } = await chatOn(owner, 'locate');
    const call = await chat.call();
    expect(await decide(owner, 'sse', 'clerk', call.callId, { decision: 'approve' }, chat)).toBe('accepted');
    await chat.waitFor((f) => f.type === 'tool_run');
    expect(await decide(other, 'sse', 'clerk', call.callId, { decision: 'approve' }, chat)).toBe('already_decided');
    expect(await decide(owner, 'sse', 'clerk', call.callId, { decision: 'deny' }, chat)).toBe('already_decided');
    expect(await answer(other, call.callId, token, { output: 'here' })).toBe('accepted');
    expect(await chat.result()).toMatchObject({ ok: true, result: 'here' });
  });
});

describe('client tools on a fleet after Redis restarted without persistence', () => {
  it('an answered call is not written back as pending; a call still waiting is', async () => {
    const { owner } = await fleet();
    const answered = await chatOn(owner, 'clock');
    const run = (await answered.chat.waitFor((f) => f.type === 'tool_run')) as ServerFrameOf<'tool_run'>;
    expect(await answer(owner, run.callId, answered.token, { output: 'noon' })).toBe('accepted');
    await answered.chat.done();
    const waiting = await chatOn(owner, 'locate');
    const call = await waiting.chat.call();

    await redis.stop();
    await redis.start();
    // The owner writes back what waits on it once it reconnects: the waiting call's record is the sign.
    await vi.waitFor(async () => expect(await client.hget(KEYS.call(call.callId), 'state')).toBe('pending'), { timeout: 10_000, interval: 50 });
    expect(await client.exists(KEYS.call(run.callId))).toBe(0);
  });
});
