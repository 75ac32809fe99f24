import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchBuild } from './build-for-bench.js';
import { track } from './processes.js';
import type { Target } from './types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY: Record<Target, string> = { tokenwire: 'server/standalone/main.ts', baseline: 'load/bench/baseline-server.ts' };
/** scripts/node-flags.json: the V8 flags tokenwire is run with. */
export const NODE_FLAGS = JSON.parse(readFileSync(join(ROOT, 'scripts/node-flags.json'), 'utf8')) as string[];

/** The environment of every server the bench starts (README "What runs"), before `--server-env`. */
export function benchServerEnv(rate: number, firstTokenMs: number): Record<string, string> {
  return {
    LOG_LEVEL: 'silent',
    MODEL_PROVIDER: 'simulated',
    SIM_TOKENS_PER_SECOND: String(rate),
    SIM_FIRST_TOKEN_MS: String(firstTokenMs),
    HEARTBEAT_MS: '15000',
    MAX_STREAMS: '1000000',
    // The bench is one client with thousands of streams: per-client limits off.
    MAX_STREAMS_PER_CLIENT: '1000000',
    MAX_STREAMS_PER_SOCKET: '100000',
    STREAM_STARTS_PER_MINUTE: '1000000',
    WS_MESSAGES_PER_SECOND: '1000000',
    // Finished streams stay resumable this long; the default (300 s) would carry one level's
    // logs into the next. README.md, "Caveats".
    STREAM_TTL_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
}

/** How a repository .ts file is run: compiled ahead (what `npm start` ships) or through tsx. */
export interface Runner {
  readonly name: 'built' | 'tsx';
  /** node's arguments that run `tsFile` (a path relative to the repository). */
  args(tsFile: string): string[];
}

export const tsxRunner: Runner = { name: 'tsx', args: (tsFile) => ['--import', 'tsx', join(ROOT, tsFile)] };

export const builtRunner = (build: BenchBuild): Runner => ({ name: 'built', args: (tsFile) => [build.path(tsFile)] });

/** A server under test, in its own process. */
export interface ServerProcess {
  readonly target: Target;
  readonly pid: number;
  readonly port: number;
  readonly env: Record<string, string>;
  /** The last lines it wrote to stderr/stdout, for error messages. */
  output(): string;
  /** With `inspect`: the DevTools WebSocket URL of the process's inspector. */
  readonly inspectorUrl: string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  runner: Runner;
  /** Write a V8 CPU profile (.cpuprofile) into this directory when the process exits. */
  cpuProfileDir?: string | undefined;
  /** With `cpuProfileDir`: V8's sampling interval in µs (default 1000); 100 sees short per-start work. */
  cpuProfileIntervalUs?: number | undefined;
  /** Open the inspector on 127.0.0.1 and a free port (for forced GCs and heap readings). */
  inspect?: boolean;
  /** Names the server's profile directory, e.g. tokenwire-latency. */
  label?: string;
}

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768+), so that none of
 * the bench's own client sockets can be holding it by the time the server binds it; never the
 * same port twice in one run.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

/** Only what node and the server need from our environment: never an OPENAI_API_KEY by accident. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_PATH'];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key] as string;
  return env;
}

/** Polls `url` every 50 ms until it answers 200; fails early if `child` exits, or after `timeoutMs`. */
export async function waitHealthy(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server not ready after ${timeoutMs} ms:\n${output()}`);
}

/** Spawns the server (compiled, or `node --import tsx <entry>`) on a free port of 127.0.0.1 and waits for /healthz. */
export async function startServerProcess(target: Target, options: StartOptions): Promise<ServerProcess> {
  // Another program may take the port between the check and the bind: then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(target, options, await freePort());
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnce(target: Target, options: StartOptions, port: number): Promise<ServerProcess> {
  const env = { ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  const args: string[] = [];
  if (options.inspect) args.push('--inspect=127.0.0.1:0');
  // One directory per server: each thread (main, and tsx's loader thread) writes its own
  // profile under Node's default name (pid, thread id, sequence); the main thread's is the largest.
  if (options.cpuProfileDir) args.push('--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfileDir, options.label ?? target)}`);
  if (options.cpuProfileDir && options.cpuProfileIntervalUs) args.push(`--cpu-prof-interval=${options.cpuProfileIntervalUs}`);
  // tokenwire's V8 flags (as npm start and the Dockerfile run it), for the baseline as well: the
  // ratios then compare code on the same runtime settings.
  args.push(...NODE_FLAGS, ...options.runner.args(ENTRY[target]));
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, `${target} server`);
  let tail = '';
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const output = () => tail.trim();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  try {
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, child, output, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const inspectorUrl = options.inspect ? /Debugger listening on (ws:\/\/\S+)/.exec(tail)?.[1] : undefined;
  if (options.inspect && !inspectorUrl) throw new Error(`no inspector URL in the server's output:\n${output()}`);
  return {
    target,
    pid: child.pid ?? 0,
    port,
    env,
    output,
    inspectorUrl,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
