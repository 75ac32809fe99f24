import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalSha256 } from '../../server/engine/approval-record.js';
import { defineTool, type ToolRunContext } from '../../server/index.js';
import { decide, openChat, startToolApp, type Chat, type ToolApp, type TransportName } from '../helpers/tool-app.js';

// defineTool for an app: a predicate decides which calls need a person, the card carries the
// app's data, a supervisor may decide a clerk's call, a person may correct the arguments or
// deny with a code, timeouts are per tool, and parameters may be plain JSON Schema. Each over
// SSE (decisions by HTTP) and the WebSocket (decisions by frame), on real sockets.

let app: ToolApp | undefined;
const chats: Chat[] = [];
afterEach(async () => {
  for (const chat of chats.splice(0)) chat.close();
  await app?.close();
  app = undefined;
});

/** Every run of the refund tool: its arguments and the context it was given. */
const runs: { args: unknown; context: Omit<ToolRunContext, 'signal'> }[] = [];

const refund = defineTool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.strictObject({ orderId: z.string().min(1), amount: z.number().positive().max(1_000) }),
  // Small refunds run at once; larger ones wait for a person.
  needsApproval: (args) => args.amount > 100,
  approval: {
    display: async (args, context) => ({ title: `Refund ${args.amount} EUR on ${args.orderId}`, requestedBy: context.subject }),
    // The clerk may decide their own call, and a supervisor anyone's.
    authorize: (decider) => decider.owns || decider.subject === 'supervisor',
  },
  async run(args, { signal: _signal, ...context }) {
    runs.push({ args, context });
    return { refunded: args.amount };
  },
});

/** Never returns on its own: only its timeout ends it. */
const stuck = defineTool({
  name: 'stuck',
  description: 'Hangs.',
  parameters: z.object({}),
  needsApproval: false,
  timeoutMs: 150,
  run: (_args, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
});

/** Expires quickly: its own approval window, not the instance's minute. */
const hurried = defineTool({
  name: 'hurried',
  description: 'Must be approved quickly.',
  parameters: z.object({}),
  approval: { timeoutMs: 200 },
  run: async () => 'ran',
});

/** Plain JSON Schema parameters: no schema library at all. */
const repeat = defineTool({
  name: 'repeat',
  description: 'Repeats a word n times.',
  parameters: { type: 'object', properties: { word: { type: 'string' }, n: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['word', 'n'], additionalProperties: false },
  needsApproval: false,
  run: async (args) => String(args.word).repeat(Number(args.n)),
});

async function start() {
  runs.length = 0;
  app = await startToolApp([refund, stuck, hurried, repeat], { timeouts: { approvalTimeoutMs: 60_000, toolTimeoutMs: 60_000 } });
  return app;
}

async function chat(transport: TransportName, tool: string, args: unknown, subject = 'clerk') {
  const opened = await openChat(app as ToolApp, transport, subject, tool, args);
  chats.push(opened);
  return opened;
}

/** The stream's approval audit records, read by the clerk who owns it. */
async function auditOf(streamId: string) {
  const response = await fetch(`${(app as ToolApp).url}/api/streams/${streamId}/approvals`, { headers: { authorization: `Bearer ${await (app as ToolApp).token('clerk')}` } });
  return ((await response.json()) as { approvals: Record<string, unknown>[] }).approvals;
}

describe.each<TransportName>(['sse', 'ws'])('defineTool over %s', (transport) => {
  it('asks for approval by predicate: a refund below the threshold runs at once, one above waits for a person', async () => {
    await start();
    const small = await chat(transport, 'refund', { orderId: 'o1', amount: 20 });
    expect(await small.call()).toMatchObject({ approval: 'not_required', args: { orderId: 'o1', amount: 20 } });
    expect(await small.result()).toMatchObject({ ok: true, result: { refunded: 20 } });
    expect(runs[0]?.context.approval).toBeUndefined();

    const large = await chat(transport, 'refund', { orderId: 'o2', amount: 500 });
    const call = await large.call();
    expect(call).toMatchObject({ approval: 'required', args: { orderId: 'o2', amount: 500 } });
    expect(runs).toHaveLength(1);
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'approve' }, large)).toBe('accepted');
    expect(await large.result()).toMatchObject({ ok: true, result: { refunded: 500 } });
    expect(runs[1]).toEqual({ args: { orderId: 'o2', amount: 500 }, context: { subject: 'clerk', streamId: call.streamId, callId: call.callId, approval: { by: 'clerk', edited: false } } });
  });

  it("puts the tool's display data on the tool_call frame for the card", async () => {
    await start();
    const large = await chat(transport, 'refund', { orderId: 'o3', amount: 250 });
    expect((await large.call()).display).toEqual({ title: 'Refund 250 EUR on o3', requestedBy: 'clerk' });
  });

  it("lets a supervisor decide a clerk's call through authorize, and refuses another subject as forbidden", async () => {
    await start();
    const large = await chat(transport, 'refund', { orderId: 'o4', amount: 300 });
    const call = await large.call();
    expect(await decide(app as ToolApp, transport, 'mallory', call.callId, { decision: 'approve' }, large)).toBe('forbidden');
    expect(runs).toEqual([]);
    expect(await decide(app as ToolApp, transport, 'supervisor', call.callId, { decision: 'approve', reason: 'checked the receipt' }, large)).toBe('accepted');
    expect(await large.result()).toMatchObject({ ok: true });
    expect(runs[0]?.context.approval).toEqual({ by: 'supervisor', edited: false, reason: 'checked the receipt' });
    expect(await auditOf(call.streamId)).toMatchObject([{ callId: call.callId, decision: 'approved', subject: 'supervisor', transport: transport === 'sse' ? 'http' : 'ws', reason: 'checked the receipt', outcome: 'ok' }]);
  });

  it('validates edited arguments again: a bad edit is refused and the call stays pending; a good one runs, is shown and audited as edited', async () => {
    await start();
    const large = await chat(transport, 'refund', { orderId: 'o5', amount: 900 });
    const call = await large.call();
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'approve', args: { orderId: 'o5', amount: -1 } }, large)).toBe('invalid_arguments');
    expect(large.frames.some((f) => f.type === 'tool_result')).toBe(false);
    expect(runs).toEqual([]);

    const edited = { orderId: 'o5', amount: 150 };
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'approve', args: edited }, large)).toBe('accepted');
    expect(await large.result()).toMatchObject({ ok: true, result: { refunded: 150 }, edited: true, args: edited });
    expect(runs).toEqual([{ args: edited, context: expect.objectContaining({ approval: { by: 'clerk', edited: true } }) }]);
    const [record] = await auditOf(call.streamId);
    expect(record).toMatchObject({ edited: true, argsSha256: canonicalSha256(edited), shownArgsSha256: canonicalSha256(call.args), outcome: 'ok' });
    // The model is told what ran.
    await large.done();
    expect(JSON.parse((app as ToolApp).model.requests[1]?.messages.at(-1)?.content ?? '')).toMatchObject({ ok: true, edited: true, args: edited });
  });

  it('sends a typed denial to the model and the audit', async () => {
    await start();
    const large = await chat(transport, 'refund', { orderId: 'o6', amount: 700 });
    const call = await large.call();
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'deny', code: 'over_limit', reason: 'needs a manager' }, large)).toBe('accepted');
    expect(await large.result()).toMatchObject({ ok: false, error: { code: 'denied' }, denial: { code: 'over_limit', reason: 'needs a manager' } });
    await large.done();
    const told = JSON.parse((app as ToolApp).model.requests[1]?.messages.at(-1)?.content ?? '');
    expect(told).toEqual({ ok: false, error: { code: 'denied', message: 'The user denied this call (over_limit): needs a manager.' }, denial: { code: 'over_limit', reason: 'needs a manager' } });
    expect(await auditOf(call.streamId)).toMatchObject([{ decision: 'denied', denialCode: 'over_limit', reason: 'needs a manager', outcome: 'not_run' }]);
    expect(runs).toEqual([]);
  });

  it('refuses a denial code that is no lowercase identifier, and the call stays pending', async () => {
    await start();
    const large = await chat(transport, 'refund', { orderId: 'o7', amount: 700 });
    const call = await large.call();
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'deny', code: 'Over Limit!' }, large)).toBe(transport === 'sse' ? 'invalid_request' : 'invalid_frame');
    expect(await decide(app as ToolApp, transport, 'clerk', call.callId, { decision: 'deny', code: 'over_limit' }, large)).toBe('accepted');
  });

  it("times out a run by the tool's own timeoutMs", async () => {
    await start();
    const started = Date.now();
    const hang = await chat(transport, 'stuck', {});
    expect(await hang.result()).toMatchObject({ ok: false, error: { code: 'tool_timeout', message: 'The tool did not finish within 150 ms.' } });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("expires an approval by the tool's own approval.timeoutMs", async () => {
    await start();
    const quick = await chat(transport, 'hurried', {});
    const call = await quick.call();
    // The instance's window is a minute; this tool's is 200 ms.
    expect(call.expiresAt as number).toBeLessThanOrEqual(Date.now() + 200);
    expect(await quick.result()).toMatchObject({ ok: false, error: { code: 'approval_expired' } });
  });

  it('takes plain JSON Schema parameters: offered to the model as given, validated with issue paths', async () => {
    await start();
    const good = await chat(transport, 'repeat', { word: 'ab', n: 3 });
    expect(await good.result()).toMatchObject({ ok: true, result: 'ababab' });
    expect((app as ToolApp).model.requests[0]?.tools).toEqual([
      { name: 'repeat', description: 'Repeats a word n times.', parameters: { type: 'object', properties: { word: { type: 'string' }, n: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['word', 'n'], additionalProperties: false } },
    ]);
    const bad = await chat(transport, 'repeat', { word: 'ab', n: 9 });
    const result = await bad.result();
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    expect(result.error?.message).toMatch(/ at n\.$/);
  });
});
