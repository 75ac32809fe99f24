import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PaneProbe } from '../../client/demo/pane.js';
import type { TestServer } from '../helpers/server.js';
import { openPage, startDemoInChromium, screenshot, waitForStreaming, waitForText, writeFigures } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
let closePage: () => Promise<void>;
/** Figures measured in the browser, written to test-results/e2e-figures.json for the report. */
const figures: Record<string, unknown> = {};

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // 200 tokens/s: the rate the render budget is about.
  ({ server, browser, close: stop } = await startDemoInChromium({ SIM_TOKENS_PER_SECOND: '200' }));
}, 60_000);

afterAll(async () => {
  await stop?.();
  writeFigures('e2e-figures', figures);
});

beforeEach(async () => {
  ({ page, errors, close: closePage } = await openPage(browser, server.url));
});

afterEach(async () => {
  await closePage();
  // Every test also checks the page stayed clean: no uncaught errors, no console errors.
  expect(errors).toEqual([]);
});

const probe = (name: string): Promise<PaneProbe> => page.evaluate((n) => window.__tokenwire!.panes[n]!, name);

async function compose(options: { transport?: 'auto' | 'sse' | 'ws'; prompt?: string; tools?: boolean; think?: boolean; tokens?: number }) {
  if (options.transport) await page.getByTestId('transport').selectOption(options.transport);
  if (options.prompt !== undefined) await page.getByTestId('prompt').fill(options.prompt);
  await page.getByTestId('tools').setChecked(options.tools ?? false);
  await page.getByTestId('think').setChecked(options.think ?? false);
  await page.getByTestId('sim-tokens').fill(options.tokens ? String(options.tokens) : '');
}

describe('demo page in Chromium', () => {
  it('loads, streams a one-way answer, and raises no page or console errors', async () => {
    expect(await page.title()).toContain('tokenwire');
    await expect(page.getByTestId('transport').evaluate((el) => [...(el as HTMLSelectElement).options].map((o) => o.value))).resolves.toEqual([
      'auto',
      'sse',
      'ws',
    ]);
    await compose({ transport: 'auto', tokens: 20 });
    await page.getByTestId('send').click();
    await waitForText(page, 'status', 'done');
    // auto without tools: Server-Sent Events.
    expect((await probe('main')).transport).toBe('sse');
    expect(errors).toEqual([]);
  });

  it('shows the model\'s reasoning in a collapsible thinking block, apart from the answer', async () => {
    await compose({ transport: 'ws', think: true, tokens: 20 });
    await page.getByTestId('send').click();
    const block = page.getByTestId('thinking');
    await block.waitFor({ state: 'visible' });
    await waitForText(page, 'status', 'done');
    // Collapsed by default: the summary shows, the thoughts open on a click.
    expect(await block.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(false);
    expect(await block.locator('summary').textContent()).toBe('Thoughts');
    await block.locator('summary').click();
    expect(await block.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(true);
    const thoughts = (await page.getByTestId('thinking-text').textContent()) ?? '';
    expect(thoughts.split(' ')).toHaveLength(24);
    const answer = (await page.getByTestId('output').textContent()) ?? '';
    expect(answer.split(' ')).toHaveLength(20);
    expect(answer).not.toContain(thoughts.slice(0, 20));
    await screenshot(page, 'thinking-block');
  });

  it('shows an SSE answer growing in several visible steps', async () => {
    await compose({ transport: 'sse', tokens: 100 });
    // Record every length the output shows while the answer streams in.
    await page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('[data-testid="output"]')!;
      const lengths: number[] = [];
      (window as unknown as { __lengths: number[] }).__lengths = lengths;
      new MutationObserver(() => {
        if (!el.querySelector('.placeholder')) lengths.push(el.textContent?.length ?? 0);
      }).observe(el, { childList: true, subtree: true, characterData: true });
    });
    await page.getByTestId('send').click();
    await waitForStreaming(page);
    await screenshot(page, 'sse-streaming');
    await waitForText(page, 'status', 'done');
    await screenshot(page, 'sse-done');

    const lengths = await page.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
    const steps = lengths.filter((n, i) => n !== lengths[i - 1]);
    const final = (await page.getByTestId('output').textContent())!.length;
    expect(steps.length).toBeGreaterThanOrEqual(4);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(final);
    expect(final).toBeGreaterThan(0);
    expect((await page.getByTestId('output').textContent())!.split(' ')).toHaveLength(100);
    figures.sseVisibleSteps = steps.length;
  });

  it.each(['sse', 'ws'] as const)('keeps renders within the batching budget while tokens arrive at 200/s (%s)', async (transport) => {
    await compose({ transport, tokens: 400 });
    await page.getByTestId('send').click();
    await waitForText(page, 'status', 'done', 15_000);
    const pane = await probe('main');
    const seconds = pane.elapsedMs! / 1000;
    const rendersPerSecond = pane.renders / seconds;
    figures[`renderBudget-${transport}`] = {
      tokens: pane.tokens,
      seconds: Number(seconds.toFixed(2)),
      renders: pane.renders,
      rendersPerSecond: Number(rendersPerSecond.toFixed(1)),
      tokensPerSecond: Number(pane.tokensPerSecond?.toFixed(1)),
    };

    expect((await page.getByTestId('output').textContent())!.split(' ')).toHaveLength(400);
    // Token frames (the server may merge tokens queued behind a slow reader; here it should not).
    expect(pane.tokens).toBeGreaterThan(300);
    expect(pane.tokensPerSecond!).toBeGreaterThan(120);
    // One render per 50 ms batch at most, plus a few for status changes (send, start, done).
    expect(pane.renders).toBeLessThanOrEqual(Math.ceil(seconds * 20) + 6);
    expect(rendersPerSecond).toBeLessThan(25);
    // Against the naive one render per token.
    expect(pane.renders * 5).toBeLessThan(pane.tokens);
    expect(await page.getByTestId('output').getAttribute('data-renders')).toBe(String(pane.renders));
  });

  it.each(['ws', 'sse'] as const)('approves a tool call with the buttons, and the answer uses the result: the city (%s)', async (transport) => {
    await compose({ transport, prompt: "What's the weather in Paris?", tools: true });
    await page.getByTestId('send').click();
    await page.getByTestId('approve').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('tool-name').textContent()).toBe('get_weather');
    expect(JSON.parse((await page.getByTestId('tool-args').textContent())!)).toEqual({ city: 'Paris' });
    await waitForText(page, 'status', 'waiting for approval');
    await screenshot(page, `${transport}-approval`);

    // Over SSE the decision goes back as POST /api/approvals/:callId; over WebSocket as a frame.
    const posted = transport === 'sse' ? page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/api/approvals/')) : undefined;
    await page.getByTestId('approve').click();
    await posted;
    await waitForText(page, 'status', 'done');
    await screenshot(page, `${transport}-approved`);
    const output = (await page.getByTestId('output').textContent())!;
    expect(output).toContain('Paris');
    expect(output).toMatch(/weather in Paris is/);
    // The card stays, decided, with the tool's result.
    expect(await page.getByTestId('approve').count()).toBe(0);
    expect(await page.getByTestId('decision').textContent()).toContain('Approved');
    expect(JSON.parse((await page.getByTestId('tool-result').textContent())!)).toMatchObject({ city: 'Paris' });
    expect((await probe('main')).transport).toBe(transport);
  });

  it.each(['ws', 'sse'] as const)('runs a browser tool (get_local_time) in the page and the model answers with the browser\'s time zone (%s)', async (transport) => {
    // A zone the machine is not in, so the answer can only have come from the browser.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Pacific/Chatham' });
    const timeZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(timeZone).toBe('Pacific/Chatham');
    await compose({ transport, prompt: 'What time is it where I am?', tools: true });
    // Over SSE the output goes back as POST /api/tool-outputs/:callId; over WebSocket as a tool_output frame.
    const posted = transport === 'sse' ? page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/api/tool-outputs/')) : undefined;
    await page.getByTestId('send').click();
    await posted;
    await waitForText(page, 'status', 'done');
    await screenshot(page, `${transport}-browser-tool`);
    const sent = JSON.parse((await page.getByTestId('client-tool-result').textContent())!) as { timeZone: string; time: string };
    expect(sent.timeZone).toBe(timeZone);
    expect(await page.getByTestId('output').textContent()).toBe(`Your local time is ${sent.time} (${timeZone}).`);
    // No approval was asked: the page's own code answered.
    expect(await page.getByTestId('approval').count()).toBe(0);
    expect((await probe('main')).transport).toBe(transport);
  });

  it('denies a tool call (auto picks WebSocket for tools) and the model says it could not', async () => {
    await compose({ transport: 'auto', prompt: "What's the weather in Paris?", tools: true });
    await page.getByTestId('send').click();
    await page.getByTestId('deny').click({ timeout: 10_000 });
    await waitForText(page, 'status', 'done');
    await screenshot(page, 'ws-denied');
    expect(await page.getByTestId('output').textContent()).toMatch(/could not/i);
    expect((await probe('main')).transport).toBe('ws');
  });

  it.each(['sse', 'ws'] as const)('cancel mid-stream aborts the server\'s upstream request (%s)', async (transport) => {
    await compose({ transport, tokens: 100_000 });
    await page.getByTestId('send').click();
    const streamId = await waitForStreaming(page);
    const upstream = server.core.hub.get(streamId);
    expect(upstream).toBeDefined();
    expect(upstream!.signal.aborted).toBe(false);

    await page.getByTestId('cancel').click();
    await waitForText(page, 'status', 'cancelled');
    await expect.poll(() => upstream!.signal.aborted, { timeout: 5_000 }).toBe(true);
    await expect.poll(() => upstream!.done, { timeout: 5_000 }).toBe(true);
    expect(upstream!.lastSeq).toBeLessThan(1_000);
  });

  it('side-by-side runs one prompt over SSE and WebSocket at once and fills both panes', async () => {
    await compose({ tokens: 200 });
    await page.getByTestId('side-by-side').check();
    await page.getByTestId('send').click();
    await waitForText(page, 'status-sse', 'done', 15_000);
    await waitForText(page, 'status-ws', 'done', 15_000);
    await screenshot(page, 'side-by-side');

    const sse = await probe('sse');
    const ws = await probe('ws');
    const sseText = await page.getByTestId('output-sse').textContent();
    const wsText = await page.getByTestId('output-ws').textContent();
    expect(sseText!.split(' ')).toHaveLength(200);
    // The simulated model is deterministic: the same prompt gives the same words on both.
    expect(wsText).toBe(sseText);
    expect(sse).toMatchObject({ transport: 'sse', reconnects: 0 });
    expect(ws).toMatchObject({ transport: 'ws', reconnects: 0 });
    // start + token frames + done on each.
    expect(sse.frames).toBe(sse.tokens + 2);
    expect(ws.frames).toBe(ws.tokens + 2);
    expect(sse.bytes).toBeGreaterThan(sseText!.length);
    expect(ws.bytes).toBeGreaterThan(wsText!.length);
    expect(sse.streamId).not.toBe(ws.streamId);
    for (const id of ['ttft-sse', 'ttft-ws', 'rate-sse', 'rate-ws', 'bytes-sse', 'bytes-ws', 'frames-sse', 'frames-ws', 'reconnects-sse', 'reconnects-ws']) {
      expect(await page.getByTestId(id).textContent()).not.toBe('–');
    }
    const pick = (p: PaneProbe) => ({
      tokens: p.tokens,
      firstTokenMs: Math.round(p.firstTokenMs!),
      tokensPerSecond: Number(p.tokensPerSecond!.toFixed(1)),
      frames: p.frames,
      bytes: p.bytes,
      reconnects: p.reconnects,
      renders: p.renders,
    });
    figures.sideBySide = { sse: pick(sse), ws: pick(ws) };
  });

  it('unmounting the panes mid-stream (leaving side-by-side) cancels both streams on the server', async () => {
    await compose({ tokens: 100_000 });
    await page.getByTestId('side-by-side').check();
    await page.getByTestId('send').click();
    const ids = [await waitForStreaming(page, '-sse'), await waitForStreaming(page, '-ws')];
    const upstreams = ids.map((id) => server.core.hub.get(id)!);
    expect(upstreams.map((u) => u.signal.aborted)).toEqual([false, false]);

    await page.getByTestId('side-by-side').uncheck();
    await page.getByTestId('output').waitFor();
    await expect.poll(() => upstreams.map((u) => u.signal.aborted), { timeout: 5_000 }).toEqual([true, true]);
    await expect.poll(() => upstreams.map((u) => u.done), { timeout: 5_000 }).toEqual([true, true]);
    // The fresh pane starts idle: nothing of the unmounted streams reaches it.
    expect(await page.getByTestId('status').textContent()).toContain('ready');
  });
});
