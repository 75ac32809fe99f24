import { describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import type { Reply } from '../helpers/fake-openai.js';
import { useOpenAIHarness } from '../helpers/openai-harness.js';
import { postSse } from '../helpers/sse-client.js';
import { textOf } from '../helpers/ws-client.js';

const t = useOpenAIHarness();
const useOpenAI = async () => {
  await t.start({ UPSTREAM_MAX_RETRIES: '0' });
  return t.connect();
};

/** Answers the n-th upstream request (0-based) with the n-th script. */
const turns = (...scripts: ((reply: Reply) => void | Promise<void>)[]) =>
  t.upstream.script((reply) => {
    const script = scripts[t.upstream.calls.indexOf(reply.call)];
    if (!script) throw new Error('no script for this request');
    return script(reply);
  });

/** get_weather({"city":"Paris"}) as OpenAI streams it: id and name first, the arguments in pieces. */
const weatherCall = (reply: Reply) => {
  reply.toolCall(0, { id: 'call_up_1', name: 'get_weather', arguments: '' });
  reply.toolCall(0, { arguments: '{"ci' });
  reply.toolCall(0, { arguments: 'ty": "Par' });
  reply.toolCall(0, { arguments: 'is"}' });
  reply.finish('tool_calls', { prompt: 20, completion: 7 });
};
const answer = (text: string) => (reply: Reply) => {
  for (const word of text.split(/(?= )/)) reply.text(word);
  reply.finish('stop', { prompt: 40, completion: 9 });
};
const weatherQuestion = { messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather', 'calculate'] };

describe('openai provider: tool calls through the openai SDK, on loopback', () => {
  it('assembles the streamed call, waits for approval, and sends the call and its result back upstream', async () => {
    const c = await useOpenAI();
    turns(weatherCall, answer('It is mild in Paris.'));
    c.send({ type: 'start', id: 'c1', ...weatherQuestion });
    const call = (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
    expect(t.upstream.calls).toHaveLength(1);

    // The SDK got the tools as JSON Schema, from the zod schemas.
    expect(t.upstream.calls[0]?.body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Get the current weather for a city.',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string', minLength: 1, maxLength: 80, description: 'The city, e.g. "Paris"' } },
            required: ['city'],
            additionalProperties: false,
          },
        },
      },
      {
        type: 'function',
        function: expect.objectContaining({
          name: 'calculate',
          parameters: expect.objectContaining({ type: 'object', required: ['expression'], additionalProperties: false }),
        }),
      },
    ]);

    c.send({ type: 'approve', callId: call.callId });
    const done = await c.waitForFrame((f) => f.type === 'done');
    const result = c.frames.find((f) => f.type === 'tool_result') as ServerFrameOf<'tool_result'>;
    expect(result).toMatchObject({ callId: call.callId, ok: true, result: { city: 'Paris' } });

    expect(t.upstream.calls).toHaveLength(2);
    expect(t.upstream.calls[1]?.body.messages).toEqual([
      { role: 'user', content: "What's the weather in Paris?" },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_up_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_up_1', content: JSON.stringify({ ok: true, result: result.result }) },
    ]);
    expect(textOf(c.frames)).toBe('It is mild in Paris.');
    expect(done).toMatchObject({ reason: 'stop', usage: { promptTokens: 60, completionTokens: 16, totalTokens: 76 } });
  });

  it('over SSE, a denial goes upstream as the tool message and the tool never runs', async () => {
    const server = await t.start({ UPSTREAM_MAX_RETRIES: '0' });
    turns(weatherCall, answer('Understood.'));
    const session = await postSse(`${server.url}/api/chat`, weatherQuestion);
    const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    const response = await fetch(`${server.url}/api/approvals/${call.callId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${start.approvalToken}` },
      body: JSON.stringify({ decision: 'deny', reason: 'privacy' }),
    });
    expect(response.status).toBe(200);
    const frames = await session.ended;
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(t.upstream.calls[1]?.body.messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'call_up_1',
      content: JSON.stringify({ ok: false, error: { code: 'denied', message: 'The user denied this call: privacy.' } }),
    });
  });

  it('never shows upstream arguments that fail the schema; the model is told invalid_arguments', async () => {
    const c = await useOpenAI();
    turns((reply) => {
      reply.toolCall(0, { id: 'call_up_bad', name: 'get_weather', arguments: '{"city": 42, "then": "rm -rf /"}' });
      reply.finish('tool_calls');
    }, answer('Sorry.'));
    c.send({ type: 'start', id: 'c1', ...weatherQuestion });
    await c.waitForFrame((f) => f.type === 'done');
    expect(c.frames.some((f) => f.type === 'tool_call')).toBe(false);
    expect(c.frames.find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    const toolMessage = t.upstream.calls[1]?.body.messages.at(-1) as { role: string; tool_call_id: string; content: string };
    expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_up_bad' });
    expect(JSON.parse(toolMessage.content)).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    expect(JSON.stringify(c.frames)).not.toContain('rm -rf');
  });

  it('handles two calls in one turn, their deltas interleaved: each shown and decided, both results sent back', async () => {
    const c = await useOpenAI();
    turns((reply) => {
      reply.toolCall(0, { id: 'call_a', name: 'get_weather', arguments: '{"city":' });
      reply.toolCall(1, { id: 'call_b', name: 'calculate', arguments: '{"expression":' });
      reply.toolCall(0, { arguments: '"Oslo"}' });
      reply.toolCall(1, { arguments: '"6*7"}' });
      reply.finish('tool_calls');
    }, answer('Done.'));
    c.send({ type: 'start', id: 'c1', ...weatherQuestion });
    const call = (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Oslo' } });
    c.send({ type: 'approve', callId: call.callId });
    await c.waitForFrame((f) => f.type === 'done');
    const shown = c.frames.filter((f) => f.type === 'tool_call').map((f) => [(f as ServerFrameOf<'tool_call'>).name, (f as ServerFrameOf<'tool_call'>).approval]);
    expect(shown).toEqual([
      ['get_weather', 'required'],
      ['calculate', 'not_required'],
    ]);
    const messages = t.upstream.calls[1]?.body.messages as { role: string; tool_call_id?: string; content?: string; tool_calls?: unknown[] }[];
    expect(messages[1]?.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'calculate', arguments: '{"expression":"6*7"}' } },
    ]);
    expect(messages.slice(2).map((m) => [m.role, m.tool_call_id])).toEqual([
      ['tool', 'call_a'],
      ['tool', 'call_b'],
    ]);
    expect(JSON.parse(messages[3]?.content ?? '')).toEqual({ ok: true, result: { expression: '6*7', value: 42 } });
  });

  it('sends a long streamed text back upstream whole as the assistant message of the tool round', async () => {
    const c = await useOpenAI();
    // More tokens than the engine joins at a time (run-chat.ts), with characters JSON escapes.
    const words = Array.from({ length: 700 }, (_, i) => (i % 97 === 0 ? ` "q${i}"\\n` : ` w${i}`));
    turns((reply) => {
      for (const word of words) reply.text(word);
      weatherCall(reply);
    }, answer('Mild.'));
    c.send({ type: 'start', id: 'c1', ...weatherQuestion });
    const call = (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    c.send({ type: 'approve', callId: call.callId });
    await c.waitForFrame((f) => f.type === 'done');
    const messages = t.upstream.calls[1]?.body.messages as { role: string; content?: string | null }[];
    expect(messages[1]).toMatchObject({ role: 'assistant', content: words.join('') });
    expect(textOf(c.frames.filter((f) => f.type === 'token' && f.seq <= call.seq))).toBe(words.join(''));
  });

  it('a cancel frame closes the upstream request at once', async () => {
    const c = await useOpenAI();
    t.upstream.script(async (reply) => {
      for (let i = 0; i < 5_000 && reply.call.open; i++) {
        reply.text(`t${i} `);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      reply.finish();
    });
    c.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'Go on forever' }] });
    const token = await c.waitForFrame((f) => f.type === 'token');
    c.send({ type: 'cancel', streamId: token.streamId });
    await t.upstream.calls[0]?.closed;
    // Closed by the client while the reply was still streaming (it would run for 25 s).
    expect(t.upstream.calls[0]?.closedAt).toBeDefined();
    expect(t.upstream.calls[0]?.tokenWrites.length).toBeLessThan(5_000);
    expect(await c.waitForFrame((f) => f.type === 'done')).toMatchObject({ reason: 'cancelled' });
  });
});
