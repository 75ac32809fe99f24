import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The proxy config that docker compose runs, read as is: the tests run this very file. */
export const NGINX_CONF = readFileSync(join(root, 'deploy/nginx.conf'), 'utf8');
/** How nginx picks a replica: sticky (memory store) or round robin (Redis store), from deploy/. */
const BALANCE = {
  sticky: readFileSync(join(root, 'deploy/nginx.balance.conf'), 'utf8'),
  'round-robin': readFileSync(join(root, 'deploy/nginx.round-robin.conf'), 'utf8'),
} as const;

/** A port that was free a moment ago: a throwaway server listens on 0 and closes. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** One child process in its own process group, so stopping it takes its children too. */
export interface Proc {
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** What the process wrote to stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function launch(command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      stderr += String(error);
      resolve('spawn-error');
    });
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  const stop = async (graceMs = 3_000) => {
    signalGroup('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([exited, late])) === 'late') {
      signalGroup('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  };
  return { child, exited, stderr: () => stderr, stop };
}

/**
 * Polls `url` until it answers 200, failing early if `proc` exits. Each poll is a real request
 * with its own timeout; the wait ends on the event (a 200), not after a fixed sleep.
 */
export async function waitForHealthy(url: string, proc: Proc, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void proc.exited.then((code) => (exitedWith = code));
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${what} exited (${exitedWith}) before it was healthy:\n${proc.stderr()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} not healthy at ${url} after ${timeoutMs} ms (${last}):\n${proc.stderr()}`);
}

export interface Replica extends Proc {
  url: string;
  port: number;
}

/** One tokenwire server process, as deployed: `node --import tsx server/standalone/main.ts` on loopback (on `port` when given: a restart). */
export async function startReplica(env: Record<string, string> = {}, port?: number): Promise<Replica> {
  port ??= await freePort();
  const proc = launch(process.execPath, ['--import', 'tsx', 'server/standalone/main.ts'], {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(`${url}/healthz`, proc, `replica on ${port}`, 20_000);
  } catch (error) {
    await proc.stop(500);
    throw error;
  }
  return { ...proc, url, port };
}

export interface Nginx extends Proc {
  url: string;
  port: number;
  /** The prefix directory: the config, the includes, temp dirs and error.log. */
  dir: string;
  errorLog(): string;
}

/**
 * Real nginx (Debian's package) in the foreground as the current user, with `conf` as its main
 * config and includes that point the upstream at `replicas`, the listener at a free port, and
 * the balancing at `balance` (deploy/nginx.balance.conf or deploy/nginx.round-robin.conf).
 */
export async function startNginx(conf: string, replicas: readonly { port: number }[], balance: keyof typeof BALANCE = 'sticky'): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwire-nginx-'));
  // When the tests run as root, nginx's workers drop to `nobody`; they only need to traverse.
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), conf);
  writeFileSync(join(dir, 'nginx.upstreams.conf'), replicas.map((r) => `server 127.0.0.1:${r.port};\n`).join(''));
  writeFileSync(join(dir, 'nginx.listen.conf'), `listen 127.0.0.1:${port};\n`);
  writeFileSync(join(dir, 'nginx.balance.conf'), BALANCE[balance]);
  const proc = launch(
    process.env.NGINX_BIN ?? 'nginx',
    ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;`],
    { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  );
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const stop = async (graceMs?: number) => {
    await proc.stop(graceMs);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHealthy(`${url}/healthz`, { ...proc, stderr: () => proc.stderr() + errorLog() }, `nginx on ${port}`, 10_000);
  } catch (error) {
    await stop(500);
    throw error;
  }
  return { ...proc, stop, url, port, dir, errorLog };
}

/**
 * Rewrites the body of `location /api/ { … }` in `conf` and returns the whole config. Throws
 * when the location or a directive to remove is missing, so a variant can never silently
 * equal the original.
 */
export function withApiLocation(conf: string, edit: { remove?: string[]; add?: string[] }): string {
  const start = conf.indexOf('    location /api/ {');
  const end = conf.indexOf('\n    }\n', start);
  if (start < 0 || end < 0) throw new Error('deploy/nginx.conf has no `location /api/ { … }` block');
  let body = conf.slice(start, end);
  for (const directive of edit.remove ?? []) {
    const line = `      ${directive}\n`;
    if (!body.includes(line)) throw new Error(`location /api/ has no line \`${directive}\``);
    body = body.replace(line, '');
  }
  for (const directive of edit.add ?? []) body += `\n      ${directive}`;
  return conf.slice(0, start) + body + conf.slice(end);
}
