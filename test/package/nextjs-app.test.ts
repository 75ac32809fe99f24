import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient } from '../../client/index.js';
import { ask, firstToken, nextToolCall } from '../client/fixtures.js';
import { launchChromium, SCREENSHOTS } from '../e2e/browser.js';
import { packedApp } from '../helpers/packed-app.js';

// examples/nextjs as a user gets it: copied out of the repository, tokenwire installed from the
// packed tarball, built by the real `next build` (its type check included) and served by
// `next start`; the client talks to its one catch-all route as a browser page would.

const example = fileURLToPath(new URL('../../examples/nextjs', import.meta.url));
const INSTALL_MS = 300_000;
const BUILD_MS = 300_000;
const START_MS = 30_000;

/** The environment the app's tools run in: ours, less vitest's NODE_ENV and the outer npm's settings. */
function appEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
  delete env['NODE_ENV'];
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
  return env;
}

/** Ends a process group we started (next build and start fork workers), at once. */
function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Runs a command in its own process group; rejects with its output when it fails or outlives `timeoutMs`. */
function runBounded(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: appEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

const app = { dir: '', buildLog: '', url: '', next: undefined as ChildProcess | undefined, output: '' };

/** Starts `next start` on a free loopback port (`-p 0`); resolves with its URL once it says it is ready. */
function startNext(dir: string): Promise<string> {
  const next = spawn(process.execPath, ['node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', '0'], {
    cwd: dir,
    env: appEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  app.next = next;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`next start was not ready in ${START_MS} ms:\n${app.output}`)), START_MS);
    const onOutput = (d: Buffer) => {
      app.output += d.toString();
      const url = /- Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(app.output)?.[1];
      if (url && /Ready in/.test(app.output)) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    next.stdout.on('data', onOutput);
    next.stderr.on('data', onOutput);
    next.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`next start exited with ${code ?? signal}:\n${app.output}`));
    });
  });
}

beforeAll(async () => {
  // The one packed tarball of this run (packed from a copy of the sources, so dist/ here is never rebuilt under other tests).
  const { tarball } = await packedApp();
  app.dir = await mkdtemp(join(tmpdir(), 'tokenwire-nextjs-'));
  await cp(example, app.dir, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|\.next)([\\/]|$)|next-env\.d\.ts$|\.tsbuildinfo$|package-lock\.json$/.test(source.slice(example.length)),
  });
  const manifest = JSON.parse(await readFile(join(app.dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  manifest.dependencies['tokenwire'] = `file:${tarball}`;
  await writeFile(join(app.dir, 'package.json'), JSON.stringify(manifest, null, 2));

  const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
  let since = performance.now();
  await runBounded('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app.dir, INSTALL_MS);
  console.info(`npm install: ${seconds(since)}`);
  since = performance.now();
  app.buildLog = await runBounded(process.execPath, ['node_modules/next/dist/bin/next', 'build'], app.dir, BUILD_MS);
  console.info(`next build: ${seconds(since)}`);
  app.url = await startNext(app.dir);
}, INSTALL_MS + BUILD_MS + START_MS + 60_000);

afterAll(async () => {
  if (app.next) {
    const exited = new Promise((resolve) => app.next!.once('exit', resolve));
    killGroup(app.next);
    if (app.next.exitCode === null && app.next.signalCode === null) await exited;
  }
  if (app.dir) await rm(app.dir, { recursive: true, force: true });
});

describe('examples/nextjs installed from the packed tarball, built by next build, served by next start', () => {
  it('next build type-checked the app with the strict tsconfig and made the catch-all a dynamic route', async () => {
    const log = app.buildLog.replace(/\x1b\[[0-9;]*m/g, '');
    expect(log).toMatch(/Running TypeScript/);
    expect(log).toMatch(/Finished TypeScript/);
    expect(log).toMatch(/ƒ \/api\/tw\/\[\.\.\.path\]/);
    // next build rewrites tsconfig.json when it dislikes it: the strict options must survive.
    const { compilerOptions } = JSON.parse(await readFile(join(app.dir, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(compilerOptions).toMatchObject({ strict: true, exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true });
  });

  it('serves the chat page: GET / is 200 HTML', async () => {
    const response = await fetch(`${app.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>tokenwire in Next.js</title>');
  });

  it('runs a chat with a tool approval through the catch-all route over SSE', async () => {
    const client = createChatClient({ baseUrl: `${app.url}/api/tw`, transport: 'sse' });
    try {
      const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
      const call = await nextToolCall(stream);
      expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
      await call.approve();
      const result = await stream.result;
      expect(result).toMatchObject({ reason: 'stop', transport: 'sse' });
      // The app's own tool ran (lib/weather-tool.ts) and the model answered from its result.
      expect(result.text).toBe('The weather in Paris is sunny at 21°C, with 40% humidity and wind at 12 km/h.');
    } finally {
      client.close();
    }
  });

  it('resumes a dropped connection with nothing lost, and cancels with DELETE, through the same route', async () => {
    const client = createChatClient({ baseUrl: `${app.url}/api/tw`, transport: 'sse' });
    try {
      const prompt = ask('Explain streaming in one paragraph.', { options: { simulate: { tokens: 60, tokensPerSecond: 300 } } });
      const reference = await client.chat(prompt).result;
      const stream = client.chat(prompt);
      await firstToken(stream);
      stream.dropConnection();
      expect((await stream.result).text).toBe(reference.text);
      expect(stream.stats().reconnects).toBe(1);

      // DELETE from outside the client: the server ends the stream and its open view says so.
      const long = client.chat(ask('Tell me a story.', { options: { simulate: { tokens: 100_000, tokensPerSecond: 200 } } }));
      await firstToken(long);
      const ref = long.ref!;
      const cancelled = await fetch(`${app.url}/api/tw/api/streams/${encodeURIComponent(ref.streamId)}`, {
        method: 'DELETE',
        headers: { 'x-stream-token': ref.token ?? '' },
      });
      expect(cancelled.status).toBe(200);
      expect(await long.result).toMatchObject({ reason: 'cancelled' });
    } finally {
      client.close();
    }
  });

  it('the page itself chats and approves in Chromium', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(30_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${app.url}/`);
      await page.getByRole('button', { name: 'Send' }).click();
      const dialog = page.getByRole('alertdialog', { name: 'Approve tool call' });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain('get_weather');
      await dialog.getByRole('button', { name: 'Approve' }).click();
      await page.getByText('The weather in Paris is sunny at 21°C, with 40% humidity and wind at 12 km/h.').waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'nextjs-app.png') });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("answers a path under /api/tw that is not tokenwire's with 404 not_found JSON", async () => {
    const response = await fetch(`${app.url}/api/tw/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
