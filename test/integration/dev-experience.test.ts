import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runServerProcess } from '../helpers/server-process.js';

// what a new user meets first. An empty or busy PORT is a configuration error that says
// what to do (exit 2) and never a demo URL; `npm run dev` serves the demo at `/`.
const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.pid === undefined) continue;
    // The dev script runs Vite and tsx below it: stop its whole process group (it leads one).
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
});

function run(env: Record<string, string>) {
  const proc = runServerProcess(env);
  children.push(proc.child);
  return proc;
}

/** A port something already listens on, for as long as the test holds it. */
async function busyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  return { port: (holder.address() as AddressInfo).port, close: () => new Promise((resolve) => holder.close(() => resolve())) };
}

/** Runs a `scripts/*.mjs` entry as `npm run` would, collecting its output. */
function runScript(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', TOKENWIRE_NO_OPEN: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const announced = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const url = /demo at (http:\S+)/.exec(stdout)?.[1];
      if (url) resolve(url);
    });
    void exited.then(() => reject(new Error(`exited before announcing the demo: ${stderr}`)));
  });
  announced.catch(() => {});
  return { child, exited, announced, output: () => ({ stdout, stderr }) };
}

describe('configuration errors a new user meets', () => {
  it('an empty PORT= exits 2 and says what to set, instead of listening on a random port', async () => {
    const proc = run({ PORT: '' });
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toMatch(/PORT="": give a port number \(1-65535; 0 picks a free one\), or unset PORT for 3000/);
    expect(proc.output().stdout).not.toMatch(/listening/);
  });

  it('a HOST that is no address of this machine exits 2 naming HOST, not a getaddrinfo stack trace', async () => {
    const proc = run({ HOST: '999.1.1.1' });
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toMatch(/^tokenwire: HOST=999\.1\.1\.1 is neither an address nor a name this machine resolves/);
  });

  it('a busy PORT exits 2 with what to do, not a stack trace', async () => {
    const held = await busyPort();
    try {
      const proc = run({ PORT: String(held.port) });
      expect(await proc.exited).toBe(2);
      expect(proc.output().stderr).toBe(
        `tokenwire: port ${held.port} is already in use on 127.0.0.1: stop what listens there (lsof -i :${held.port}) or choose another, e.g. PORT=3001\n`,
      );
    } finally {
      await held.close();
    }
  });
});

describe('npm run dev', () => {
  it('builds the demo and serves it at /, announcing the URL only once the server listens', async () => {
    const dev = runScript('scripts/dev.mjs', { PORT: '0' });
    const url = await dev.announced;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>tokenwire/);
    expect(dev.output().stdout.indexOf('demo at')).toBeGreaterThan(dev.output().stdout.indexOf('tokenwire listening on'));
  }, 90_000);

  it('with a busy PORT it exits with the configuration error and never prints a demo URL', async () => {
    const held = await busyPort();
    try {
      const dev = runScript('scripts/dev.mjs', { PORT: String(held.port) });
      expect(await dev.exited).not.toBe(0);
      expect(dev.output().stderr).toContain(`port ${held.port} is already in use`);
      expect(dev.output().stdout).not.toContain('demo at');
    } finally {
      await held.close();
    }
  }, 90_000);
});
