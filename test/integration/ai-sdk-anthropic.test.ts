import { createAnthropic } from '@ai-sdk/anthropic';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatClient } from '../../client/index.js';
import { aiSdkModel } from '../../server/models/ai-sdk/index.js';
import { createTokenwire, defineTool, type Tokenwire } from '../../server/index.js';
import { ask, collectBatches, firstToken, nextToolCall } from '../client/fixtures.js';
import { startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic.js';

// The real @ai-sdk/anthropic provider, pointed at a loopback server that speaks the Messages
// API's streaming format, behind createTokenwire: what an app gets from
// aiSdkModel(anthropic('claude-…')), from the upstream's bytes to the client's frames.

let upstream: FakeAnthropic;
beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterAll(() => upstream.close());

const open: { tw?: Tokenwire; server?: Server } = {};
afterEach(async () => {
  await open.tw?.close({ deadlineMs: 500 });
  await new Promise<void>((resolve) => (open.server ? open.server.close(() => resolve()) : resolve()));
  open.server?.closeAllConnections();
  open.tw = open.server = undefined;
});

let ran: { city: string }[] = [];
/** What tokenwire logged at warn level: the upstream's own words belong here, never on the wire. */
let warnings: { object: unknown; message?: string }[] = [];
const logger = { debug() {}, info() {}, warn: (object: unknown, message?: string) => void warnings.push({ object, message }), error() {} };
const weather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.strictObject({ city: z.string().min(1) }),
  run: async ({ city }) => {
    ran.push({ city });
    return { city, conditions: 'sunny', temperatureC: 21 };
  },
});

/** tokenwire with the Anthropic model (thinking on) on a loopback server; the client's base URL. */
async function serve(): Promise<string> {
  ran = [];
  warnings = [];
  const anthropic = createAnthropic({ baseURL: upstream.baseURL, apiKey: 'sk-ant-test' });
  const tw = (open.tw = createTokenwire({
    model: aiSdkModel(anthropic('claude-sonnet-4-5'), { providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } } }),
    tools: [weather],
    logger,
  }));
  const server = (open.server = createServer((req, res) => tw.router(req, res, () => res.writeHead(404).end())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const SIGNATURE = 'EqQBCkYIARgCIkDsig-of-the-thinking';

describe('aiSdkModel with @ai-sdk/anthropic on a loopback Messages API', () => {
  it('shows the tool call, runs it once approved, and sends the thinking with its signature, the tool_use and the tool_result back', async () => {
    upstream.script(
      (reply) => {
        reply.messageStart(31);
        reply.thinking(0, ['The user wants ', 'the weather in Paris.'], SIGNATURE);
        reply.text(1, ['Let me look that up.']);
        reply.toolUse(2, 'toolu_01', 'get_weather', ['{"ci', 'ty": "Par', 'is"}']);
        reply.finish('tool_use', 40, 12);
      },
      (reply) => {
        reply.messageStart(90);
        reply.text(0, ['It is ', 'sunny in ', 'Paris.']);
        reply.finish('end_turn', 9);
      },
    );
    const client = createChatClient({ baseUrl: await serve(), transport: 'sse' });
    const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
    const batches = collectBatches(stream);

    const call = await nextToolCall(stream);
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect(ran).toEqual([]);
    expect(upstream.calls).toHaveLength(1);
    const first = upstream.calls[0]!.body;
    expect(first).toMatchObject({ model: 'claude-sonnet-4-5', stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(first.tools).toEqual([
      expect.objectContaining({
        name: 'get_weather',
        description: 'The weather in a city.',
        input_schema: { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'], additionalProperties: false },
      }),
    ]);

    await call.approve();
    const result = await stream.result;
    expect(ran).toEqual([{ city: 'Paris' }]);
    expect(upstream.calls).toHaveLength(2);
    expect(upstream.calls[1]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: "What's the weather in Paris?" }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'The user wants the weather in Paris.', signature: SIGNATURE },
          { type: 'text', text: 'Let me look that up.' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: JSON.stringify({ ok: true, result: { city: 'Paris', conditions: 'sunny', temperatureC: 21 } }) }],
      },
    ]);
    expect(result.text).toBe('Let me look that up.It is sunny in Paris.');
    expect(batches.map((batch) => batch.text).join('')).toBe(result.text);
    expect(batches.length).toBeGreaterThan(1);
    expect(result.reasoning).toBe('The user wants the weather in Paris.');
    // Both turns added up; the first turn's thinking tokens from output_tokens_details.
    expect(result).toMatchObject({ reason: 'stop', usage: { promptTokens: 121, completionTokens: 49, totalTokens: 170, reasoningTokens: 12 } });
  });

  it('cancelling the stream closes the upstream request: the loopback server sees its socket close mid-answer', async () => {
    let hold!: () => void;
    const held = new Promise<void>((resolve) => (hold = resolve));
    upstream.script(async (reply) => {
      reply.messageStart(10);
      reply.event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      reply.event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Once upon a time' } });
      // The answer goes on, but not before the client has cancelled.
      await held;
    });
    const client = createChatClient({ baseUrl: await serve(), transport: 'sse' });
    const stream = client.chat(ask('Tell me a long story.'));
    await firstToken(stream);
    const call = upstream.calls[0]!;
    expect(call.open).toBe(true);
    stream.cancel();
    expect(await call.closed).toEqual({ early: true });
    hold();
    expect((await stream.result).reason).toBe('cancelled');
  });

  it('an error event mid-stream ends the chat with a typed error frame, not the upstream message', async () => {
    upstream.script((reply) => {
      reply.messageStart(10);
      reply.text(0, ['Partly ']);
      reply.event('error', { error: { type: 'overloaded_error', message: 'Overloaded (internal detail)' } });
    });
    const client = createChatClient({ baseUrl: await serve(), transport: 'sse' });
    const result = await client.chat(ask('hi')).result;
    expect(result.text).toBe('Partly ');
    expect(result.reason).toBe('error');
    expect(result.error).toMatchObject({ code: 'upstream_error', message: 'The model service failed.' });
    expect(JSON.stringify(warnings)).toContain('Overloaded (internal detail)');
  });

  it('a 429 before the stream is upstream_rate_limited, a 400 upstream_rejected', async () => {
    upstream.script((reply) => reply.fail(429, 'rate_limit_error', 'slow down'));
    const base = await serve();
    const client = createChatClient({ baseUrl: base, transport: 'sse' });
    expect((await client.chat(ask('hi')).result).error).toMatchObject({ code: 'upstream_rate_limited' });
    upstream.script((reply) => reply.fail(400, 'invalid_request_error', 'bad'));
    expect((await client.chat(ask('hi')).result).error).toMatchObject({ code: 'upstream_rejected' });
  });
});
