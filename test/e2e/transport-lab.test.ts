import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PaneProbe } from '../../client/demo/pane.js';
import { answerText } from '../../server/models/simulated-answers.js';
import type { TestServer } from '../helpers/server.js';
import { expectedAnswer, openPage, startDemoInChromium, screenshot, waitForStreaming, waitForText, writeFigures } from './browser.js';

// the demo as a transport lab, tried in Chromium as a person would.
let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
let closePage: () => Promise<void>;
const figures: Record<string, unknown> = {};

/** The approval window of this server: short, so the expiry test needs no long wait. */
const APPROVAL_TIMEOUT_MS = 4_000;

/**
 * Runs before the demo's scripts: a gate on reconnects. While `__gate.shut`, new WebSockets dial
 * a closed port and resumes over SSE (GET /api/streams/…) wait, as on a network that is down.
 */
const GATE = () => {
  // Port 1 is closed on loopback (and refused by Chromium at once); afterEach ignores its console errors.
  const GATE_URL = 'ws://127.0.0.1:1/gate-shut';
  const gate = { shut: false, open: () => {}, opened: Promise.resolve() };
  (window as unknown as { __gate: typeof gate }).__gate = gate;
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (gate.shut && url.includes('/api/streams/')) await gate.opened;
    return realFetch(input, init);
  };
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(gate.shut ? GATE_URL : url, protocols);
    }
  } as typeof WebSocket;
};
/** Shuts the gate, then clicks the pane's "Drop connection" in the same task: no tokens slip by in between. */
const shutGateAndDrop = (testId = 'drop') =>
  page.evaluate((id) => {
    const gate = (window as unknown as { __gate: { shut: boolean; open: () => void; opened: Promise<void> } }).__gate;
    gate.shut = true;
    gate.opened = new Promise((resolve) => (gate.open = () => ((gate.shut = false), resolve())));
    document.querySelector<HTMLButtonElement>(`[data-testid="${id}"]`)!.click();
  }, testId);
const openGate = () => page.evaluate(() => (window as unknown as { __gate: { open: () => void } }).__gate.open());

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ server, browser, close: stop } = await startDemoInChromium({
    SIM_TOKENS_PER_SECOND: '200',
    SIM_FIRST_TOKEN_MS: '100',
    APPROVAL_TIMEOUT_MS: String(APPROVAL_TIMEOUT_MS),
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
  writeFigures('transport-lab-figures', figures);
});

beforeEach(async () => {
  ({ page, errors, close: closePage } = await openPage(browser, server.url, { initScript: GATE }));
});

afterEach(async () => {
  await closePage();
  // Chromium logs every WebSocket that fails to connect: those the gate made are expected.
  expect(errors.filter((e) => !e.includes('ws://127.0.0.1:1/gate-shut'))).toEqual([]);
});

const probe = (name = 'main'): Promise<PaneProbe> => page.evaluate((n) => window.__tokenwire!.panes[n]!, name);
const words = async (testId = 'output') => ((await page.getByTestId(testId).textContent()) ?? '').split(' ');
const expected = expectedAnswer;

/** Waits until a pane's stream ended, then checks it ended `done`: a failure shows the status line it ended with. */
async function expectDone(testId: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    (id) => /^(done|error|cancelled)/.test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''),
    testId,
    { timeout },
  );
  expect(await page.getByTestId(testId).textContent()).toMatch(/^done/);
}

async function compose(options: { transport?: 'auto' | 'sse' | 'ws'; prompt?: string; tools?: boolean; tokens?: number; pace?: number }) {
  if (options.transport) await page.getByTestId('transport').selectOption(options.transport);
  if (options.prompt !== undefined) await page.getByTestId('prompt').fill(options.prompt);
  await page.getByTestId('tools').setChecked(options.tools ?? false);
  await page.getByTestId('sim-tokens').fill(options.tokens ? String(options.tokens) : '');
  await page.getByTestId('pace').selectOption(options.pace ? String(options.pace) : '');
}

describe('the demo as a transport lab (Chromium)', () => {
  it('the weather chip shows the approval card with its countdown; approving shows the result, the round trip, and a first token without the wait', async () => {
    await page.getByTestId('preset-0').click();
    await page.getByTestId('approve').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('tools').isChecked()).toBe(true);
    expect(await page.getByTestId('tool-name').textContent()).toBe('get_weather');
    expect(JSON.parse((await page.getByTestId('tool-args').textContent())!)).toEqual({ city: 'Paris' });
    const first = (await page.getByTestId('expires-in').textContent())!;
    expect(first).toMatch(/expires in [34] s/);
    // Decide only after the countdown moved: the wait must not count in the time to first token.
    await page.waitForFunction((before) => document.querySelector('[data-testid="expires-in"]')?.textContent !== before, first, { timeout: 5_000 });
    await screenshot(page, 'lab-weather-approval-card');
    await page.getByTestId('approve').click();
    await waitForText(page, 'status', 'done');
    await screenshot(page, 'lab-weather-approved-result');

    expect(await page.getByTestId('decision').textContent()).toMatch(/Approved · round trip \d+ ms/);
    expect(JSON.parse((await page.getByTestId('tool-result').textContent())!)).toMatchObject({ city: 'Paris', conditions: expect.any(String) });
    expect(await page.getByTestId('output').textContent()).toMatch(/^The weather in Paris is .+\.$/);
    const p = await probe();
    expect(p.transport).toBe('ws');
    expect(p.approvalWaitMs).toBeGreaterThan(900);
    expect(p.toolCallMs).toBeGreaterThan(0);
    expect(p.approvalRoundTripMs).toBeGreaterThan(0);
    expect(p.firstTokenMs!).toBeLessThan(p.approvalWaitMs);
    for (const idOf of ['ttft', 'tool-call-ms', 'approval-rt']) expect(await page.getByTestId(idOf).textContent()).toMatch(/^\d+ ms$/);
    figures.weather = { toolCallMs: Math.round(p.toolCallMs!), approvalWaitMs: Math.round(p.approvalWaitMs), approvalRoundTripMs: Math.round(p.approvalRoundTripMs!), firstTokenMs: Math.round(p.firstTokenMs!) };
  });

  it('an approval nobody gives expires: the countdown reaches the end, the card says so, and the answer says why', async () => {
    await compose({ transport: 'sse', prompt: "What's the weather in Paris?", tools: true });
    await page.getByTestId('send').click();
    await page.getByTestId('approve').waitFor({ timeout: 10_000 });
    await waitForText(page, 'decision', 'Expired', APPROVAL_TIMEOUT_MS + 5_000);
    await waitForText(page, 'status', 'done');
    await screenshot(page, 'lab-approval-expired');
    expect(await page.getByTestId('output').textContent()).toBe('I could not get an answer for Paris: Nobody approved this call in time.');
    const p = await probe();
    expect(p.firstTokenMs!).toBeLessThan(p.approvalWaitMs);
  });

  it.each(['ws', 'sse'] as const)('"Drop connection" mid-stream: the pane reconnects and the answer finishes with 0 tokens lost (%s)', async (transport) => {
    const prompt = 'Explain streaming in one paragraph.';
    await compose({ transport, prompt, tokens: 300, pace: 300 });
    await page.getByTestId('send').click();
    await waitForStreaming(page);
    await shutGateAndDrop();
    await waitForText(page, 'status', 'reconnecting');
    await screenshot(page, `lab-drop-reconnecting-${transport}`);
    await openGate();
    await waitForText(page, 'status', 'done', 15_000);
    await screenshot(page, `lab-drop-resumed-${transport}`);

    expect(await page.getByTestId('output').textContent()).toBe(expected(prompt, 300));
    const p = await probe();
    expect(p).toMatchObject({ transport, reconnects: 1 });
    expect(p.resumeMs).toBeGreaterThan(0);
    expect(await page.getByTestId('reconnects').textContent()).toMatch(/^1 · \d+ ms$/);
    figures[`drop-${transport}`] = { tokens: p.tokens, reconnects: p.reconnects, resumeMs: Math.round(p.resumeMs!), lost: 300 - (await words()).length };
  });

  it.each(['ws', 'sse'] as const)('a replay of 2,000+ frames after a reconnect causes at most a few React commits (%s)', async (transport) => {
    const prompt = 'x';
    await compose({ transport, prompt, tokens: 3_000, pace: 1_000 });
    await page.getByTestId('send').click();
    const streamId = await waitForStreaming(page);
    await shutGateAndDrop();
    await waitForText(page, 'status', 'reconnecting');
    const atDrop = await probe();
    const wordsAtDrop = (await words()).length;
    // The server finishes while the page is away: all of it comes back as one replay.
    await expect.poll(() => server.core.hub.get(streamId)?.done, { timeout: 10_000 }).toBe(true);
    await openGate();
    await waitForText(page, 'status', 'done', 15_000);
    const end = await probe();
    const commits = end.renders - atDrop.renders;
    const replayedTokens = (await words()).length - wordsAtDrop;
    console.log(`Chromium ${transport}: ${replayedTokens} tokens in ${end.frames - atDrop.frames} frames replayed after a reconnect → ${commits} React commit(s) of the pane`);
    figures[`replay-${transport}`] = { replayedTokens, replayedFrames: end.frames - atDrop.frames, reactCommits: commits };

    expect(await page.getByTestId('output').textContent()).toBe(expected(prompt, 3_000));
    expect(replayedTokens).toBeGreaterThanOrEqual(2_000);
    expect(commits).toBeLessThanOrEqual(4);
  });

  it('a reload mid-stream picks the unfinished stream up again and shows the whole answer', async () => {
    const prompt = 'Tell me a story about a lighthouse.';
    await compose({ transport: 'sse', prompt, pace: 30 });
    await page.getByTestId('send').click();
    const streamId = await waitForStreaming(page);
    await page.reload();
    await page.getByTestId('picked-up').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('picked-up').textContent()).toContain(streamId);
    await screenshot(page, 'lab-reload-picked-up');
    await waitForText(page, 'status', 'done', 20_000);
    expect(await page.getByTestId('output').textContent()).toBe(answerText(prompt));
    expect(await page.getByTestId('output').getAttribute('data-stream-id')).toBe(streamId);
    // Done: nothing is kept for the next reload.
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('the pace control sets the model speed per request, and the gaps sparkline and frame inspector show the stream', async () => {
    await compose({ transport: 'sse', prompt: 'Explain streaming in one paragraph.', tokens: 20, pace: 10 });
    await page.getByTestId('send').click();
    await waitForText(page, 'status', 'done', 10_000);
    const slow = await probe();
    expect(slow.tokensPerSecond!).toBeGreaterThan(7);
    expect(slow.tokensPerSecond!).toBeLessThan(13);
    expect(Number(await page.getByTestId('gaps').getAttribute('data-bars'))).toBe(19);
    await page.getByTestId('inspector').locator('summary').click();
    const frames = (await page.getByTestId('frames-list').textContent())!;
    expect(frames).toContain('event: done');
    expect(frames).toMatch(/id: \d+/);
    await screenshot(page, 'lab-pace-gaps-inspector');

    await compose({ transport: 'ws', prompt: 'Explain streaming in one paragraph.', tokens: 200, pace: 1_000 });
    await page.getByTestId('send').click();
    await waitForText(page, 'status', 'done', 10_000);
    expect((await probe()).tokensPerSecond!).toBeGreaterThan(300);
    expect(await page.getByTestId('frames-list').textContent()).toContain('"type":"done"');
  });

  it('the compare chip runs SSE and WebSocket side by side, with bytes and framing per transport', async () => {
    // By its label: the chips' order changes as the demo grows.
    await page.getByRole('button', { name: 'Compare SSE and WebSocket side by side' }).click();
    await expectDone('status-sse');
    await expectDone('status-ws');
    await screenshot(page, 'lab-compare-side-by-side');
    const sse = await probe('sse');
    const ws = await probe('ws');
    expect(await page.getByTestId('output-sse').textContent()).toBe(await page.getByTestId('output-ws').textContent());
    expect(await page.getByTestId('output-sse').textContent()).toMatch(/^Server-Sent Events carry one answer/);
    expect(sse.payloadBytes).toBe(ws.payloadBytes);
    expect(sse.bytes).not.toBe(ws.bytes);
    for (const suffix of ['-sse', '-ws']) expect(await page.getByTestId(`framing${suffix}`).textContent()).toMatch(/^\d+%$/);
    figures.compare = { sse: { bytes: sse.bytes, payloadBytes: sse.payloadBytes }, ws: { bytes: ws.bytes, payloadBytes: ws.payloadBytes } };
  });

  it('works 390 px wide: nothing scrolls sideways, the weather chip still shows the approval card', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('preset-0').click();
    await page.getByTestId('approve').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = (await page.getByTestId('approve').boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await screenshot(page, 'lab-mobile-390-approval');
    await page.getByTestId('approve').click();
    await waitForText(page, 'status', 'done');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'lab-mobile-390-done');
  });
});
