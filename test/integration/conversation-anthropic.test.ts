import { createAnthropic } from '@ai-sdk/anthropic';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatClient, type ChatClient } from '../../client/index.js';
import { aiSdkModel } from '../../server/models/ai-sdk/index.js';
import { createTokenwire, defineTool, type Tokenwire } from '../../server/index.js';
import { nextToolCall } from '../client/fixtures.js';
import { startFakeAnthropic, type AnthropicReply, type FakeAnthropic } from '../helpers/fake-anthropic.js';

// A client's conversation with tool turns, sent back through aiSdkModel(anthropic(…)) to a
// loopback Messages API that refuses, as Anthropic does, a message with empty content.

let upstream: FakeAnthropic;
beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterAll(() => upstream.close());

const open: { tw?: Tokenwire; server?: Server; client?: ChatClient } = {};
afterEach(async () => {
  open.client?.close();
  await open.tw?.close({ deadlineMs: 500 });
  await new Promise<void>((resolve) => (open.server ? open.server.close(() => resolve()) : resolve()));
  open.server?.closeAllConnections();
  open.tw = open.server = open.client = undefined;
});

const weather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.strictObject({ city: z.string().min(1) }),
  run: async ({ city }) => ({ city, temperatureC: 21 }),
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Anthropic's answer to a message without content; the script does not run then. */
const refusingEmpty = (script: (reply: AnthropicReply) => void) => (reply: AnthropicReply) => {
  const empty = reply.call.body.messages.findIndex((m) => (Array.isArray(m.content) ? m.content.length === 0 : m.content === ''));
  if (empty >= 0) return reply.fail(400, 'invalid_request_error', `messages.${empty}: all messages must have non-empty content except for the optional final assistant message`);
  script(reply);
};

describe('a conversation with tool turns through aiSdkModel(anthropic(…))', () => {
  it('turn 2 sends turn 1 tool_use and tool_result back, and no assistant message without content', async () => {
    const anthropic = createAnthropic({ baseURL: upstream.baseURL, apiKey: 'sk-ant-test' });
    const tw = (open.tw = createTokenwire({ model: aiSdkModel(anthropic('claude-sonnet-4-5')), tools: [weather], logger: quiet }));
    const server = (open.server = createServer((req, res) => tw.router(req, res, () => res.writeHead(404).end())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = (open.client = createChatClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, transport: 'sse' }));
    upstream.script(
      refusingEmpty((reply) => {
        reply.messageStart(20);
        reply.thinking(0, ['Look it up.'], 'sig-1');
        // A turn of a tool call alone: no text, which a client once sent back as an empty assistant message.
        reply.toolUse(1, 'toolu_01', 'get_weather', ['{"city": "Paris"}']);
        reply.finish('tool_use', 10);
      }),
      refusingEmpty((reply) => {
        reply.messageStart(40);
        reply.text(0, ['Sunny in Paris.']);
        reply.finish('end_turn', 5);
      }),
      refusingEmpty((reply) => {
        reply.messageStart(60);
        reply.text(0, ['Oslo is colder.']);
        reply.finish('end_turn', 5);
      }),
    );

    const sent = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const first = client.chat({ messages: sent, tools: ['get_weather'] });
    const call = await nextToolCall(first);
    await call.approve();
    const answered = await first.result;
    expect(answered).toMatchObject({ reason: 'stop', text: 'Sunny in Paris.' });
    const second = await client.chat({ messages: [...sent, ...answered.messages, { role: 'user', content: 'And Oslo?' }], tools: ['get_weather'] }).result;
    expect(second).toMatchObject({ reason: 'stop', text: 'Oslo is colder.' });

    expect(upstream.calls).toHaveLength(3);
    // The client's copy of turn 1 has its reasoning but not the thinking's signature: the
    // provider leaves an unsigned thinking block out, which Anthropic allows for an earlier turn.
    const told = upstream.calls[1]!.body.messages[2]!.content as { content: string }[];
    expect(upstream.calls[2]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: call.callId, name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.callId, content: told[0]!.content }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Sunny in Paris.' }] },
      { role: 'user', content: [{ type: 'text', text: 'And Oslo?' }] },
    ]);
  });
});
