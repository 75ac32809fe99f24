import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loggedFrames } from '../helpers/hub.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { startFakeOpenAI, type FakeOpenAI, type Reply } from '../helpers/fake-openai.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { DEMO_DIR, ensureDemoBuilt, launchChromium, openPage, screenshot, waitForText } from './browser.js';

// client/demo/ai-sdk.tsx: a page on the AI SDK's useChat and DefaultChatTransport only, in
// Debian Chromium, against tokenwire's /api/ai-sdk/chat.

let server: TestServer;
let browser: Browser;
const pages: { close(): Promise<void>; errors: string[] }[] = [];

beforeAll(async () => {
  await ensureDemoBuilt();
  server = await startServer({ SIM_TOKENS_PER_SECOND: '200', DEMO_DIR });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async () => {
  for (const page of pages.splice(0)) {
    await page.close();
    expect(page.errors).toEqual([]);
  }
});

async function open(query: string, base = server.url): Promise<Page> {
  const opened = await openPage(browser, `${base}/ai-sdk.html?${query}`);
  pages.push(opened);
  return opened.page;
}

const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server.core.hub.get(streamId));
const tokensOf = async (streamId: string) => (await frames(streamId)).flatMap((f) => (f.type === 'token' ? [f.text] : [])).join('');
const assistantId = async (page: Page) => {
  const item = page.locator('li[data-role="assistant"]').first();
  await item.waitFor();
  return (await item.getAttribute('data-message-id')) as string;
};
const assistantText = (page: Page) => page.locator('li[data-role="assistant"] [data-testid="assistant-text"]').allTextContents().then((t) => t.join(''));

async function send(page: Page, prompt: string) {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('send').click();
}

describe('useChat from @ai-sdk/react against tokenwire, in Chromium', () => {
  it('streams an answer into the page', async () => {
    const page = await open('chat=e2e-stream&tokens=60');
    await send(page, 'Tell me a story');
    await waitForText(page, 'status', 'streaming');
    const streamId = await assistantId(page);
    await waitForText(page, 'status', 'ready');
    expect(await assistantText(page)).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).filter((f) => f.type === 'token')).toHaveLength(60);
  });

  it('approves a tool call: the approval goes back the AI SDK way and tokenwire runs the tool', async () => {
    const page = await open('chat=e2e-approve&tools=1');
    await send(page, "What's the weather in Paris?");
    await waitForText(page, 'tool-state', 'approval-requested');
    const streamId = await assistantId(page);
    expect((await frames(streamId)).some((f) => f.type === 'tool_result')).toBe(false);
    await screenshot(page, 'ai-sdk-approval');
    await page.getByTestId('approve').click();
    await waitForText(page, 'tool-state', 'output-available');
    await waitForText(page, 'status', 'ready');
    expect((await frames(streamId)).find((f) => f.type === 'tool_result')).toMatchObject({ ok: true, result: { city: 'Paris' } });
    expect(await page.getByTestId('tool-output').textContent()).toContain('"city":"Paris"');
    expect(await assistantText(page)).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('answers a client tool with onToolCall + addToolOutput: the output reaches the model through tokenwire', async () => {
    const page = await open('chat=e2e-client-tool&tools=1');
    // A zone the machine is not in, so the answer can only have come from the browser.
    await (await page.context().newCDPSession(page)).send('Emulation.setTimezoneOverride', { timezoneId: 'Pacific/Chatham' });
    const timeZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/ai-sdk/chat')) posts.push(r.postData() ?? '');
    });
    await send(page, 'What time is it where I am?');
    await waitForText(page, 'tool-state', 'output-available');
    await waitForText(page, 'status', 'ready');
    const streamId = await assistantId(page);
    const logged = await frames(streamId);
    const result = logged.find((f) => f.type === 'tool_result') as Extract<ServerFrame, { type: 'tool_result' }>;
    expect(logged.find((f) => f.type === 'tool_call')).toMatchObject({ name: 'get_local_time', runsOn: 'client' });
    expect(timeZone).toBe('Pacific/Chatham');
    expect(result).toMatchObject({ ok: true, result: { timeZone } });
    const { time } = result.result as { time: string };
    // The second request carried the tool part addToolOutput filled in; the answer continued the same message.
    expect(posts).toHaveLength(2);
    expect(JSON.parse(posts[1]!).messages.at(-1).parts).toContainEqual(expect.objectContaining({ type: 'tool-get_local_time', state: 'output-available', output: { timeZone, time } }));
    expect(await assistantText(page)).toBe(`Your local time is ${time} (${timeZone}).`);
    expect(logged.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    await screenshot(page, 'ai-sdk-client-tool');
  });

  it('resumes the same generation after a reload, from tokenwire’s log', async () => {
    const page = await open('chat=e2e-resume&tokens=600');
    await send(page, 'Tell me a long story');
    await waitForText(page, 'status', 'streaming');
    const streamId = await assistantId(page);
    await waitFor(async () => (await frames(streamId)).length > 40, '40 frames');
    const started = server.core.metrics.streamsStarted;
    const before = (await started.get()).values.reduce((n, v) => n + v.value, 0);
    await page.reload();
    await page.getByTestId('send').waitFor();
    // useChat({ resume: true }) calls GET /api/ai-sdk/chat/:id/stream on mount.
    await waitForText(page, 'status', 'streaming');
    expect(await assistantId(page)).toBe(streamId);
    expect((await frames(streamId)).some((f) => f.type === 'done')).toBe(false);
    await waitForText(page, 'status', 'ready', 15_000);
    expect(await assistantText(page)).toBe(await tokensOf(streamId));
    expect((await frames(streamId)).filter((f) => f.type === 'token')).toHaveLength(600);
    // The reload resumed the stream; it did not start another generation.
    expect((await started.get()).values.reduce((n, v) => n + v.value, 0)).toBe(before);
  });

  it('stop reaches tokenwire’s cancel', async () => {
    const page = await open('chat=e2e-stop&tokens=5000');
    await send(page, 'Tell me a long story');
    await waitForText(page, 'status', 'streaming');
    const streamId = await assistantId(page);
    await page.getByTestId('stop').click();
    await waitForText(page, 'status', 'ready');
    const done = await waitFor(async () => (await frames(streamId)).find((f) => f.type === 'done'), 'done');
    expect(done).toMatchObject({ reason: 'cancelled' });
    expect((await frames(streamId)).filter((f) => f.type === 'token').length).toBeLessThan(5000);
  });
});

describe('useChat conversations with tool turns, against a recording OpenAI upstream, in Chromium', () => {
  let upstream: FakeOpenAI;
  let real: TestServer;
  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    real = await startServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseURL, MODEL: 'gpt-test', UPSTREAM_MAX_RETRIES: '0', DEMO_DIR });
  });
  afterAll(async () => {
    await real?.close();
    await upstream?.close();
  });

  it('the turn after an approved tool call sends the call and its result back to the model', async () => {
    const answer = (text: string) => (reply: Reply) => (reply.text(text), reply.finish('stop'));
    const scripts = [
      (reply: Reply) => {
        reply.toolCall(0, { id: 'call_up_1', name: 'get_weather', arguments: '{"city":"Paris"}' });
        reply.finish('tool_calls');
      },
      answer('It is mild in Paris.'),
      answer('Oslo is colder.'),
    ];
    upstream.script((reply) => scripts[upstream.calls.indexOf(reply.call)]!(reply));
    const page = await open('chat=e2e-turns&tools=1', real.url);
    await send(page, 'Weather in Paris?');
    await waitForText(page, 'tool-state', 'approval-requested');
    await page.getByTestId('approve').click();
    await waitForText(page, 'tool-state', 'output-available');
    await waitForText(page, 'status', 'ready');
    await send(page, 'And in Oslo?');
    await waitFor(async () => upstream.calls.length === 3 && !upstream.calls[2]!.open, 'the third upstream request answered');
    await waitForText(page, 'status', 'ready');
    const told = (upstream.calls[1]!.body.messages as { content?: string }[])[2];
    const sent = upstream.calls[2]!.body.messages as { tool_calls?: { id: string }[] }[];
    // tokenwire's call id, the one the page's tool part carries.
    const callId = sent[1]?.tool_calls?.[0]?.id;
    expect(callId).toMatch(/^call_/);
    expect(sent).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: callId, content: told?.content },
      { role: 'assistant', content: 'It is mild in Paris.' },
      { role: 'user', content: 'And in Oslo?' },
    ]);
    expect(await assistantText(page)).toBe('It is mild in Paris.Oslo is colder.');
  });
});
