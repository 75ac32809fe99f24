import { describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../server/models/simulated.js';
import { answerLength, answerText, answerTokens } from '../../server/models/simulated-answers.js';
import type { ModelEvent, ModelRequest } from '../../server/models/provider.js';

const fast = createSimulatedProvider({ tokensPerSecond: 100_000, firstTokenMs: 0 });

async function collect(request: Partial<ModelRequest> & { messages: ModelRequest['messages'] }) {
  const out: ModelEvent[] = [];
  for await (const e of fast.stream({ tools: [], signal: new AbortController().signal, ...request })) out.push(e);
  return out;
}
const text = (events: ModelEvent[]) => events.map((e) => (e.type === 'text' ? e.text : '')).join('');

describe('simulated model', () => {
  it('gives the same text for the same prompt and different text for another', async () => {
    const a = await collect({ messages: [{ role: 'user', content: 'Tell me a story' }] });
    const b = await collect({ messages: [{ role: 'user', content: 'Tell me a story' }] });
    const c = await collect({ messages: [{ role: 'user', content: 'Something else entirely' }] });
    expect(text(a)).toBe(text(b));
    expect(text(a)).not.toBe(text(c));
    expect(a.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
  });

  it('produces exactly the asked number of tokens, and stops at maxTokens with length', async () => {
    const exact = await collect({ messages: [{ role: 'user', content: 'x' }], simulate: { tokens: 7 } });
    expect(exact.filter((e) => e.type === 'text')).toHaveLength(7);
    const capped = await collect({ messages: [{ role: 'user', content: 'x' }], simulate: { tokens: 20 }, maxTokens: 5 });
    expect(capped.filter((e) => e.type === 'text')).toHaveLength(5);
    expect(capped.at(-1)).toMatchObject({ type: 'finish', reason: 'length' });
  });

  it('fails mid-stream on request, after the asked number of tokens', async () => {
    await expect(collect({ messages: [{ role: 'user', content: 'x' }], simulate: { tokens: 10, failAfterTokens: 3 } })).rejects.toMatchObject({
      code: 'upstream_error',
    });
  });

  it('asks for get_weather with the city, only when the tool is offered', async () => {
    const tools = [{ name: 'get_weather', description: '', parameters: {} }];
    const call = await collect({ messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools });
    const args = call.map((e) => (e.type === 'tool_call_delta' ? (e.argumentsDelta ?? '') : '')).join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    expect(call.at(-1)).toMatchObject({ type: 'finish', reason: 'tool_calls' });
    const plain = await collect({ messages: [{ role: 'user', content: "What's the weather in Paris?" }] });
    expect(plain.some((e) => e.type === 'tool_call_delta')).toBe(false);
  });

  it('stops at once when aborted', async () => {
    const slow = createSimulatedProvider({ tokensPerSecond: 1, firstTokenMs: 0 });
    const controller = new AbortController();
    const seen: ModelEvent[] = [];
    const run = (async () => {
      for await (const e of slow.stream({ messages: [{ role: 'user', content: 'x' }], tools: [], signal: controller.signal })) {
        seen.push(e);
        controller.abort(new Error('gone'));
      }
    })();
    await expect(run).rejects.toThrow('gone');
    expect(seen).toHaveLength(1);
  });

  // a parked run plans its answer only when the first token is due; the abort must
  // still end it at once, not at that time.
  it('ends a run parked before its first token as soon as it is aborted', async () => {
    const parked = createSimulatedProvider({ tokensPerSecond: 30, firstTokenMs: 60_000 });
    const controller = new AbortController();
    const events: string[] = [];
    const run = parked.push?.(
      { messages: [{ role: 'user', content: 'Tell me a story' }], tools: [], signal: controller.signal },
      { text: (t) => void events.push(t), event: (e) => void events.push(e.type) },
    );
    const reason = new Error('client gone');
    setImmediate(() => controller.abort(reason));
    await expect(run).rejects.toBe(reason);
    expect(events).toEqual([]);
  });
});

describe('simulated model in a burst of starts', () => {
  it('pushes a first token that is already due at once, in the start\'s own turn', async () => {
    const now = createSimulatedProvider({ tokensPerSecond: 1, firstTokenMs: 0 });
    const controller = new AbortController();
    const seen: string[] = [];
    const done = now.push?.({ messages: [{ role: 'user', content: 'x' }], tools: [], signal: controller.signal, simulate: { tokens: 3 } }, { text: (t) => seen.push(t), event: () => {} });
    // Synchronously: it shares the write of the stream's `start` frame.
    expect(seen).toHaveLength(1);
    controller.abort(new Error('gone'));
    await expect(done).rejects.toThrow('gone');
    expect(seen).toHaveLength(1);
  });

  it('waits for a first token that is not yet due', async () => {
    const later = createSimulatedProvider({ tokensPerSecond: 1_000, firstTokenMs: 20 });
    const seen: string[] = [];
    const done = later.push?.({ messages: [{ role: 'user', content: 'x' }], tools: [], signal: new AbortController().signal, simulate: { tokens: 2 } }, { text: (t) => seen.push(t), event: () => {} });
    expect(seen).toHaveLength(0);
    await done;
    expect(seen).toHaveLength(2);
  });

  it.each(['Tell me a story about a lighthouse.', 'Explain streaming in one paragraph.', 'x', 'Something else entirely'])(
    'streams the same answer a sentence at a time as answerText says whole: %s',
    (prompt) => {
      const tokens = answerTokens(prompt);
      const words = Array.from({ length: answerLength(prompt) }, () => tokens.next().value as string);
      expect(words.join('')).toBe(answerText(prompt));
      expect(tokens.next().value).toMatch(/^ \S/);
    },
  );
});

describe('simulated model behind its schedule', () => {
  it('still lets timers and I/O run while it catches up', async () => {
    const flood = createSimulatedProvider({ tokensPerSecond: 1_000_000, firstTokenMs: 0 });
    let timerFired = false;
    setTimeout(() => (timerFired = true), 0);
    let tokensWhenTimerFired = -1;
    let count = 0;
    for await (const e of flood.stream({ messages: [{ role: 'user', content: 'x' }], tools: [], signal: new AbortController().signal, simulate: { tokens: 5_000 } })) {
      if (e.type === 'text') count++;
      if (timerFired && tokensWhenTimerFired < 0) tokensWhenTimerFired = count;
    }
    expect(count).toBe(5_000);
    // The timer ran while the flood was still going, not after it.
    expect(tokensWhenTimerFired).toBeGreaterThan(0);
    expect(tokensWhenTimerFired).toBeLessThan(5_000);
  });

  it('thinks first on request: reasoning tokens before the answer, counted in usage', async () => {
    const events = await collect({ messages: [{ role: 'user', content: 'x' }], simulate: { tokens: 4, reasoningTokens: 6 } });
    expect(events.map((e) => e.type)).toEqual([...Array(6).fill('reasoning'), ...Array(4).fill('text'), 'finish']);
    expect(events.at(-1)).toMatchObject({ usage: { completionTokens: 10, reasoningTokens: 6 } });
  });
});

describe('simulated model answers the prompt', () => {
  const answer = async (content: string, simulate?: ModelRequest['simulate']) =>
    text(await collect({ messages: [{ role: 'user', content }], ...(simulate ? { simulate } : {}) }));
  const PRESETS = ["What's the weather in Paris?", 'Tell me a story about a lighthouse.', 'Explain streaming in one paragraph.', 'Compare SSE and WebSocket.'];

  it('answers each demo preset on its subject, and prompts like them the same way', async () => {
    expect(await answer('Explain streaming in one paragraph.')).toMatch(/^Streaming sends an answer in pieces/);
    expect(await answer('How does streaming work?')).toBe(await answer('Explain streaming in one paragraph.'));
    expect(await answer('Tell me a story about a lighthouse.')).toMatch(/lighthouse/);
    expect(await answer('Compare SSE and WebSocket.')).toMatch(/Server-Sent Events .* WebSocket/);
    expect(await answer("What's the weather in Paris?")).toMatch(/get_weather tool/);
  });

  it.each([...PRESETS, 'Something else entirely', 'x', 'Tell me a story'])('ends on a full sentence with no doubled punctuation: %s', async (prompt) => {
    const said = await answer(prompt);
    expect(said).toMatch(/[.!?]$/);
    expect(said).not.toMatch(/[.!?,;:]{2}|\s[.,]/);
    expect(said).not.toMatch(/\s{2}/);
  });

  it('goes on past the canned answer when a length is asked for, deterministically', async () => {
    const long = await answer('Explain streaming in one paragraph.', { tokens: 300 });
    expect(long.split(' ')).toHaveLength(300);
    expect(long.startsWith(await answer('Explain streaming in one paragraph.'))).toBe(true);
    expect(await answer('Explain streaming in one paragraph.', { tokens: 300 })).toBe(long);
  });

  it('paces a request at its own simulate.tokensPerSecond', async () => {
    const slow = createSimulatedProvider({ tokensPerSecond: 100_000, firstTokenMs: 0 });
    const started = performance.now();
    let count = 0;
    for await (const e of slow.stream({ messages: [{ role: 'user', content: 'x' }], tools: [], signal: new AbortController().signal, simulate: { tokens: 11, tokensPerSecond: 100 } })) {
      if (e.type === 'text') count++;
    }
    // Token i is due at i / rate: the 11th (i = 10) at 100 ms.
    expect(count).toBe(11);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('says a denied or failed tool call in one sentence, without a doubled full stop', async () => {
    const tools = [{ name: 'get_weather', description: '', parameters: {} }];
    const messages: ModelRequest['messages'] = [
      { role: 'user', content: "What's the weather in Paris?" },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
    ];
    const after = async (result: unknown) =>
      text(await collect({ messages: [...messages, { role: 'tool', toolCallId: 'c1', toolName: 'get_weather', content: JSON.stringify(result) }], tools }));
    expect(await after({ ok: false, error: { code: 'approval_expired', message: 'Nobody approved this call in time.' } })).toBe(
      'I could not get an answer for Paris: Nobody approved this call in time.',
    );
    expect(await after({ ok: false, error: { code: 'denied', message: 'The user denied this call: Denied in the demo..' } })).toBe(
      'You declined the get_weather call, so I could not look up Paris.',
    );
  });

  it("says only the fields an app's own get_weather returned, never 'undefined'", async () => {
    const tools = [{ name: 'get_weather', description: '', parameters: {} }];
    const messages: ModelRequest['messages'] = [
      { role: 'user', content: "What's the weather in Paris?" },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
    ];
    const after = async (result: unknown) =>
      text(await collect({ messages: [...messages, { role: 'tool', toolCallId: 'c1', toolName: 'get_weather', content: JSON.stringify({ ok: true, result }) }], tools }));
    expect(await after({ conditions: 'sunny', temperatureC: 21 })).toBe('The weather in Paris is sunny at 21°C.');
    expect(await after({ conditions: 'rain', temperatureC: 9, humidity: 80, windKph: 5 })).toBe('The weather in Paris is rain at 9°C, with 80% humidity and wind at 5 km/h.');
    expect(await after({ forecast: 'mild' })).toBe('The weather in Paris: {"forecast":"mild"}.');
  });
});
