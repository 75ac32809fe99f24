import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { launchChromium } from './browser.js';

let server: TestServer;
let browser: Browser;
beforeAll(async () => {
  // A short `retry:`, so Chromium reconnects after `done` at once.
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000', SSE_RETRY_MS: '50' });
  browser = await launchChromium();
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('a real EventSource in Chromium', () => {
  it('reconnects after done with Last-Event-ID = done’s seq, gets 204 and stops for good', async () => {
    const frames = await (await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 5 } } })).ended;
    const start = frames[0] as ServerFrameOf<'start'>;
    const doneSeq = frames.at(-1)!.seq;
    const context = await browser.newContext();
    const page = await context.newPage();
    // Any page of the server's origin: EventSource is same-origin here.
    await page.goto(`${server.url}/healthz`);
    const seen = await page.evaluate(
      ({ url }) =>
        new Promise<{ types: string[]; lastEventId: string; opens: number; readyState: number }>((resolve) => {
          const source = new EventSource(url);
          const types: string[] = [];
          let lastEventId = '';
          let opens = 0;
          source.onopen = () => opens++;
          for (const type of ['start', 'token', 'done']) {
            source.addEventListener(type, (event) => {
              types.push(type);
              lastEventId = (event as MessageEvent).lastEventId;
            });
          }
          source.onerror = () => {
            // The first error is the end of the body (CONNECTING: it will reconnect); the 204
            // to that reconnect closes the source for good (CLOSED, WHATWG HTML §9.2).
            if (source.readyState === EventSource.CLOSED) resolve({ types, lastEventId, opens, readyState: source.readyState });
          };
        }),
      { url: `/api/streams/${start.streamId}?token=${start.approvalToken}&lastSeq=-1` },
    );
    await context.close();
    expect(seen.types[0]).toBe('start');
    expect(seen.types.at(-1)).toBe('done');
    expect(seen.lastEventId).toBe(String(doneSeq));
    // One 200 (the replay); the reconnect got 204, which never fires `open`.
    expect(seen.opens).toBe(1);
    expect(seen.readyState).toBe(2);
  }, 30_000);
});
