import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { startTcpValve } from '../helpers/tcp-valve.js';
import { expectedAnswer, openPage, startDemoInChromium, waitForStreaming, waitForText, writeFigures } from './browser.js';

// The network going away for longer than any fixed retry count would cover, in a real browser:
// Chromium's own offline emulation (DevTools protocol), then the network back.
let server: TestServer;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;
const figures: Record<string, unknown> = {};
/** Re-attach tries the page makes while offline before the network returns: twice the old fixed cap of three. */
const TRIES_OFFLINE = 6;

/**
 * Runs before the page's scripts: counts the client's re-attach tries (a resume GET, a new
 * WebSocket) made while the browser is offline, so the test waits for them, not for a clock.
 */
const COUNT_OFFLINE_TRIES = () => {
  const counter = { tries: 0 };
  (window as unknown as { __offline: typeof counter }).__offline = counter;
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (!navigator.onLine && String(input instanceof Request ? input.url : input).includes('/api/streams/')) counter.tries++;
    return realFetch(input, init);
  };
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(url: string | URL, protocols?: string | string[]) {
      if (!navigator.onLine) counter.tries++;
      super(url, protocols);
    }
  } as typeof WebSocket;
};

beforeAll(async () => {
  ({ server, browser, close: stop } = await startDemoInChromium({ SIM_TOKENS_PER_SECOND: '100', SIM_FIRST_TOKEN_MS: '0' }));
}, 60_000);

afterAll(async () => {
  await stop?.();
  writeFigures('network-offline-figures', figures);
});

const expected = expectedAnswer;

describe('offline for six re-attach tries, then online (Chromium)', () => {
  it('over SSE and WebSocket at once: each pane resumes within 1 s of the network returning and shows the whole answer, nothing lost or repeated', async () => {
    const prompt = 'Explain streaming in one paragraph.';
    // 3,000 tokens at 100 a second: the server is still generating when the network returns.
    const tokens = 3_000;
    const run = async (transport: 'sse' | 'ws') => {
      // Through a TCP proxy, so going offline can also cut the connections, as a network change does
      // (Chromium's offline emulation alone only stalls them, and they carry on when it ends).
      const valve = await startTcpValve({ host: '127.0.0.1', port: server.port });
      const { page, close: closePage } = await openPage(browser, `http://127.0.0.1:${valve.port}`, { initScript: COUNT_OFFLINE_TRIES });
      const close = async () => (await closePage(), await valve.close());
      try {
        await page.getByTestId('transport').selectOption(transport);
        await page.getByTestId('prompt').fill(prompt);
        await page.getByTestId('sim-tokens').fill(String(tokens));
        await page.getByTestId('send').click();
        const streamId = await waitForStreaming(page);
        const context = page.context();
        // The network changes: the connections die (the page must see that before offline
        // emulation would hold the news back), and then the browser is offline.
        valve.refusing = true;
        valve.cut();
        await waitForText(page, 'status', 'reconnecting');
        await context.setOffline(true);
        valve.refusing = false;
        const offlineAt = Date.now();
        // Away until the client has tried more often than a fixed count of three would allow.
        await page.waitForFunction((n) => (window as unknown as { __offline: { tries: number } }).__offline.tries >= n, TRIES_OFFLINE, { timeout: 40_000 });
        const offlineMs = Date.now() - offlineAt;
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
        const { reconnects } = await page.evaluate(() => window.__tokenwire!.panes['main']!);
        expect(reconnects, transport).toBeGreaterThanOrEqual(1);
        figures[transport] = { offlineMs, tries: TRIES_OFFLINE, backMs, streamId, generatedWhileAway: server.core.hub.get(streamId)?.done };
        return { transport, backMs, offlineMs, text };
      } finally {
        await close();
      }
    };
    const results = await Promise.all([run('sse'), run('ws')]);
    console.log(`[network-offline] ${results.map((r) => `${r.transport}: offline ${r.offlineMs} ms (${TRIES_OFFLINE} tries), first new text ${r.backMs} ms after online`).join('; ')}`);
    for (const result of results) {
      expect(result.text, result.transport).toBe(expected(prompt, tokens));
      expect(result.backMs, result.transport).toBeLessThan(1_000);
    }
  }, 120_000);
});
