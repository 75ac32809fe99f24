import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatClient, isTokenwireError, type WebSocketCtor } from '../../client/index.js';
import { defineTool } from '../../server/index.js';
import { startToolApp, type ToolApp } from '../helpers/tool-app.js';
import { nextToolCall } from './fixtures.js';

// The browser client's decisions with edits and codes, over the WebSocket (frames) and SSE (HTTP).

const refund = defineTool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.strictObject({ orderId: z.string(), amount: z.number().positive().max(1_000) }),
  approval: { display: (args) => ({ title: `Refund ${args.amount} EUR` }) },
  run: async (args) => ({ refunded: args.amount }),
});

let app: ToolApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function client(transport: 'sse' | 'ws') {
  app = await startToolApp([refund]);
  const token = await app.token('clerk');
  return createChatClient({
    baseUrl: app.url,
    transport,
    headers: () => ({ authorization: `Bearer ${token}` }),
    wsAuthToken: () => token,
    WebSocket: WebSocket as unknown as WebSocketCtor,
  });
}

const ask = (args: unknown) => ({ messages: [{ role: 'user' as const, content: JSON.stringify({ tool: 'refund', args }) }], tools: ['refund'] });

describe.each(['sse', 'ws'] as const)('tool decisions from the client over %s', (transport) => {
  it('shows display, refuses a bad edit (the call stays pending) and runs a good one, reported as edited', async () => {
    const stream = (await client(transport)).chat(ask({ orderId: 'o1', amount: 800 }));
    const call = await nextToolCall(stream);
    expect(call.display).toEqual({ title: 'Refund 800 EUR' });
    // HTTP rejects the approve; the WebSocket has no answer per frame, so the refusal is an `error` event.
    const errorEvent = new Promise<unknown>((resolve) => stream.on('error', resolve));
    const refused = await call.approve({ args: { orderId: 'o1', amount: 5_000 } }).catch((error: unknown) => error);
    const code = (error: unknown) => isTokenwireError(error) && error.code;
    expect(code(transport === 'sse' ? refused : await errorEvent)).toBe('invalid_arguments');
    expect(call.status).toBe('pending');
    await call.approve({ args: { orderId: 'o1', amount: 80 } });
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(stream.toolResults).toMatchObject([{ ok: true, result: { refunded: 80 }, edited: true, args: { orderId: 'o1', amount: 80 } }]);
  });

  it('refuses a deny with a code the protocol does not allow before sending it: the call stays pending, and a good deny then counts', async () => {
    const stream = (await client(transport)).chat(ask({ orderId: 'o3', amount: 800 }));
    const call = await nextToolCall(stream);
    const refused = await call.deny({ code: 'Over Limit' }).catch((error: unknown) => error);
    expect(isTokenwireError(refused) && refused.code).toBe('invalid_request');
    expect(call.status).toBe('pending');
    await call.deny({ code: 'over_limit' });
    await stream.result;
    expect(stream.toolResults).toMatchObject([{ ok: false, error: { code: 'denied' }, denial: { code: 'over_limit' } }]);
  });

  it('denies with a code and a reason that reach the tool result', async () => {
    const stream = (await client(transport)).chat(ask({ orderId: 'o2', amount: 800 }));
    const call = await nextToolCall(stream);
    await call.deny({ code: 'over_limit', reason: 'ask a manager' });
    await stream.result;
    expect(stream.toolResults).toMatchObject([{ ok: false, error: { code: 'denied' }, denial: { code: 'over_limit', reason: 'ask a manager' } }]);
    expect(call.status).toBe('denied');
  });
});
