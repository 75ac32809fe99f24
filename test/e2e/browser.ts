import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { answerTokens } from '../../server/models/simulated-answers.js';
import { startServer, type TestServer } from '../helpers/server.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_DIR = join(ROOT, 'dist/demo');
export const SCREENSHOTS = join(ROOT, 'test-results/screenshots');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/**
 * Builds the demo with Vite's API when dist/demo is missing or older than its sources, so the
 * browser always tests the code in this tree.
 */
export async function ensureDemoBuilt(): Promise<void> {
  const index = join(DEMO_DIR, 'index.html');
  const sources = Math.max(...['client', 'shared', 'vite.config.ts'].map((p) => newestMtime(join(ROOT, p))));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const { build } = await import('vite');
  // Production React, as `npm run build` makes it: under vitest NODE_ENV is `test`, and Vite
  // would bundle React's development build (StrictMode rehearsals, dev warnings) instead.
  await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn', mode: 'production', define: { 'process.env.NODE_ENV': JSON.stringify('production') } });
}

/** The built demo served by a test server (with `env`), and Chromium: what a browser test file starts with. */
export async function startDemoInChromium(env: Record<string, string>): Promise<{ server: TestServer; browser: Browser; close(): Promise<void> }> {
  await ensureDemoBuilt();
  const server = await startServer({ ...env, DEMO_DIR });
  const browser = await launchChromium().catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return { server, browser, close: async () => (await browser.close(), await server.close()) };
}

/** Debian's Chromium, headless; never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh page that records every uncaught page error and console error. */
export async function openPage(
  browser: Browser,
  url: string,
  options: { initScript?: () => void } = {},
): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Runs before the page's own scripts, on every load (a reload too).
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  await page.getByTestId('send').waitFor();
  return { page, errors, close: () => context.close() };
}

/** Saves a test file's figures measured in the browser as test-results/<name>.json, for the report. */
export function writeFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, `test-results/${name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the element with `testId` has text containing `text`. */
export async function waitForText(page: Page, testId: string, text: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    ([id, expected]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(expected) === true,
    [testId, text] as const,
    { timeout },
  );
}

/** Waits until the output pane shows answer text and names its stream; returns the stream id. */
export async function waitForStreaming(page: Page, suffix = '', timeout = 10_000): Promise<string> {
  const handle = await page.waitForFunction(
    (id) => {
      const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
      return el && !el.querySelector('.placeholder') && el.dataset.streamId ? el.dataset.streamId : false;
    },
    `output${suffix}`,
    { timeout },
  );
  return (await handle.jsonValue()) as string;
}

/** The simulated model's first `n` tokens for a prompt: what a stream with nothing lost or repeated shows. */
export function expectedAnswer(prompt: string, n: number): string {
  const out: string[] = [];
  for (const token of answerTokens(prompt)) {
    if (out.length === n) break;
    out.push(token);
  }
  return out.join('');
}
