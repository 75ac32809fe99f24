import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { expectedAnswer, openPage, startDemoInChromium, waitForStreaming, waitForText, writeFigures } from './browser.js';

// The network going away for longer than any fixed retry count would cover, in a real browser:
// Chromium's own offline emulation (DevTools protocol), then the network back.
let server: TestServer;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;
const figures: Record<string, unknown> = {};
const OFFLINE_MS = 20_000;

beforeAll(async () => {
  ({ server, browser, close: stop } = await startDemoInChromium({ SIM_TOKENS_PER_SECOND: '100', SIM_FIRST_TOKEN_MS: '0' }));
}, 60_000);

afterAll(async () => {
  await stop?.();
  writeFigures('network-offline-figures', figures);
});

const expected = expectedAnswer;

describe('offline for 20 s, then online (Chromium)', () => {
  it('over SSE and WebSocket at once: each pane resumes within 1 s of the network returning and shows the whole answer, nothing lost or repeated', async () => {
    const prompt = 'Explain streaming in one paragraph.';
    // 3,000 tokens at 100 a second: the server is still generating when the network returns.
    const tokens = 3_000;
    const run = async (transport: 'sse' | 'ws') => {
      const { page, close } = await openPage(browser, server.url);
      try {
        await page.getByTestId('transport').selectOption(transport);
        await page.getByTestId('prompt').fill(prompt);
        await page.getByTestId('sim-tokens').fill(String(tokens));
        await page.getByTestId('send').click();
        const streamId = await waitForStreaming(page);
        const context = page.context();
        await context.setOffline(true);
        // The scenario's length, not a stand-in for an event: the network is away this long.
        await new Promise((resolve) => setTimeout(resolve, OFFLINE_MS));
        const shown = ((await page.getByTestId('output').textContent()) ?? '').length;
        const online = Date.now();
        await context.setOffline(false);
        await page.waitForFunction(
          ([before]) => (document.querySelector('[data-testid="output"]')?.textContent ?? '').length > before!,
          [shown] as const,
          { timeout: 10_000, polling: 'raf' },
        );
        const backMs = Date.now() - online;
        await waitForText(page, 'status', 'done', 60_000);
        const text = await page.getByTestId('output').textContent();
        figures[transport] = { offlineMs: OFFLINE_MS, backMs, streamId, generatedWhileAway: server.core.hub.get(streamId)?.done };
        return { transport, backMs, text };
      } finally {
        await close();
      }
    };
    const results = await Promise.all([run('sse'), run('ws')]);
    console.log(`[network-offline] ${results.map((r) => `${r.transport}: first new text ${r.backMs} ms after online`).join('; ')}`);
    for (const result of results) {
      expect(result.text, result.transport).toBe(expected(prompt, tokens));
      expect(result.backMs, result.transport).toBeLessThan(1_000);
    }
  }, 120_000);
});
