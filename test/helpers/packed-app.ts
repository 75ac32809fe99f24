import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

// tokenwire as users get it: `npm pack` of a copy of the sources (so the repository's own dist/,
// which other tests serve, is never rebuilt under them), installed with the examples'
// dependencies into a scratch app outside the repository. Both are cached in os.tmpdir() by a
// hash of what goes into them, so a run packs and installs at most once.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The examples the scratch app holds, each in a folder of its own name. */
const EXAMPLES = ['express', 'hono'] as const;
/** What the build reads besides the package's `files`. */
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'vite.config.ts', 'README.md', 'LICENSE', 'shared', 'server', 'client'];
/** Peers the scratch app installs so every entry point can be type-checked and imported. */
const PEERS = ['ioredis', 'react', '@ai-sdk/provider'] as const;
/**
 * `@ai-sdk/provider`'s declarations import `json-schema`, which ships none: an app that checks
 * its libraries (`skipLibCheck: false`) installs its types, as the AI SDK's own build does.
 */
const JSON_SCHEMA_TYPES = '^7.0.15';
/** The TypeScript most apps still compile with, beside the examples' own (7). */
const TYPESCRIPT_5 = 'npm:typescript@^5.9.3';
/** Bump when the app's layout below changes, so a cached install is not reused. */
const LAYOUT = 1;
/** Per clone, so two worktrees never share (or clean up) each other's scratch folders. */
const CACHE = join(tmpdir(), 'tokenwire-package-tests', createHash('sha256').update(ROOT).digest('hex').slice(0, 10));

/** The strict settings a careful consumer compiles with. */
const STRICT = {
  target: 'ES2023',
  strict: true,
  exactOptionalPropertyTypes: true,
  noPropertyAccessFromIndexSignature: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  verbatimModuleSyntax: true,
  erasableSyntaxOnly: true,
  resolveJsonModule: true,
  types: ['node'],
  noEmit: true,
};

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A process of the app that printed `listening on <url>`. */
export interface RunningApp {
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then its exit code once it exited. */
  stop(): Promise<number | null>;
}

export interface PackedApp {
  /** The scratch app folder (outside the repository). */
  dir: string;
  /** The packed tarball it installed. */
  tarball: string;
  /**
   * `tsc -p` over folders of the app with the strict settings: NodeNext or Bundler resolution,
   * or Node10 (TypeScript 5's legacy resolver, which knows no `exports`); TypeScript 7 (the
   * examples' own) unless 5 is asked for.
   */
  typecheck(include: readonly string[], options: { resolution: 'NodeNext' | 'Bundler' | 'Node10'; dom?: boolean; typescript?: 5 | 7 }): Promise<RunResult>;
  /** An entry point of the installed package, resolved through its `exports` as an app resolves it. */
  importPackage<T>(specifier: string): Promise<T>;
  /** Runs a command in the app (or a folder of it) with a clean environment. */
  run(command: string, args: readonly string[], options?: { cwd?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** Starts `node <script>` (in `cwd`) with PORT=0 and resolves once it prints where it listens. */
  start(script: string, options: { cwd: string; env?: Record<string, string>; args?: readonly string[] }): Promise<RunningApp>;
}

/** The environment without what npm, vitest and the suite set (NODE_ENV=test would build React's development bundle). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(npm_|vitest|NODE_ENV$|NODE_OPTIONS$|LOG_LEVEL$|INIT_CWD$)/i.test(key)) env[key] = value;
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  return { ...env, ...extra };
}

function run(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

async function runOrThrow(command: string, args: readonly string[], cwd: string): Promise<RunResult> {
  const result = await run(command, args, { cwd });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}) in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Files under `path` (a file or a folder), relative to ROOT, sorted. */
function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

function hashOf(paths: readonly string[], extra = ''): string {
  const hash = createHash('sha256').update(extra);
  for (const path of paths) hash.update(`\0${path}\0`).update(readFileSync(join(ROOT, path)));
  return hash.digest('hex').slice(0, 16);
}

/** Writes `text` unless the file already holds it, so parallel test files never rewrite what another one reads. */
function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * One holder at a time across the test files' processes: mkdir is atomic. A lock whose holder
 * died is taken over.
 */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(CACHE, '.lock');
  mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = pidIn(lock);
      if (holder && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`packed-app: ${lock} is still held by process ${holder}`);
      // Another test file packs or installs: its work takes tens of seconds, so look again soon.
      else await delay(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The lock holder's pid; 0 while it is still writing it (or just let go). */
function pidIn(lock: string): number {
  try {
    return Number(readFileSync(join(lock, 'pid'), 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the scratch folders of earlier sources (each app holds a node_modules). */
function pruneExcept(keep: readonly string[]): void {
  for (const name of readdirSync(CACHE)) if (name !== '.lock' && !keep.includes(name)) rmSync(join(CACHE, name), { recursive: true, force: true });
}

/** `npm pack` of a copy of the package's sources (its `prepack` builds), once per content hash. */
async function pack(packageJson: { name: string; version: string; files: string[] }): Promise<{ key: string; tarball: string }> {
  const sources = [...new Set([...BUILD_INPUTS, ...packageJson.files.filter((f) => f !== 'dist')])].flatMap(filesUnder);
  const key = `pack-${hashOf(sources)}`;
  const tarball = join(CACHE, key, `${packageJson.name}-${packageJson.version}.tgz`);
  if (existsSync(tarball)) return { key, tarball };
  const copy = join(CACHE, key, 'src');
  rmSync(copy, { recursive: true, force: true });
  for (const path of sources) cpSync(join(ROOT, path), join(copy, path));
  // The build's tools (tsc, vite) and types, without installing them again.
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  await runOrThrow('npm', ['pack', '--pack-destination', '..', '--loglevel', 'warn'], copy);
  rmSync(copy, { recursive: true, force: true });
  if (!existsSync(tarball)) throw new Error(`packed-app: npm pack made no ${tarball}`);
  return { key, tarball };
}

/** The app's package.json: the examples' dependencies, tokenwire from the tarball, and the optional peers. */
function appManifest(tarball: string, rootManifest: { devDependencies: Record<string, string> }): string {
  const dependencies: Record<string, string> = {};
  for (const example of EXAMPLES) {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'examples', example, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    Object.assign(dependencies, manifest.dependencies, manifest.devDependencies);
  }
  for (const peer of PEERS) dependencies[peer] = rootManifest.devDependencies[peer]!;
  dependencies['typescript-5'] = TYPESCRIPT_5;
  dependencies['@types/json-schema'] = JSON_SCHEMA_TYPES;
  dependencies.tokenwire = `file:${tarball}`;
  const sorted = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ name: 'tokenwire-packed-app', private: true, type: 'module', dependencies: sorted }, null, 2)}\n`;
}

let made: Promise<PackedApp> | undefined;

/**
 * The scratch app with the packed tarball installed (once per test file process; the pack and
 * the install once per content hash): examples/express and examples/hono in folders of those
 * names, test/package/app in `checks/`.
 */
export function packedApp(): Promise<PackedApp> {
  return (made ??= withLock(async () => {
    const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; files: string[]; devDependencies: Record<string, string> };
    const packed = await pack(rootManifest);
    const manifest = appManifest(packed.tarball, rootManifest);
    const key = `app-${createHash('sha256').update(`${LAYOUT}\0${manifest}`).digest('hex').slice(0, 16)}`;
    const dir = join(CACHE, key);
    if (!existsSync(join(dir, '.installed'))) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), manifest);
      await runOrThrow('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'warn'], dir);
      writeFileSync(join(dir, '.installed'), '');
    }
    pruneExcept([packed.key, key]);
    // The sources are copied on every run (cheap), so editing an example needs no new install.
    for (const example of EXAMPLES) for (const file of filesUnder(`examples/${example}`)) writeIfChanged(join(dir, relative(join('examples'), file)), readFileSync(join(ROOT, file), 'utf8'));
    for (const file of filesUnder('test/package/app')) writeIfChanged(join(dir, 'checks', relative('test/package/app', file)), readFileSync(join(ROOT, file), 'utf8'));
    return appAt(dir, packed.tarball);
  }));
}

function appAt(dir: string, tarball: string): PackedApp {
  const children = new Set<ChildProcess>();
  process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));
  return {
    dir,
    tarball,
    async typecheck(include, { resolution, dom = false, typescript = 7 }) {
      const name = `tsconfig.${include.join('-').replaceAll('/', '_')}.${resolution.toLowerCase()}${dom ? '.dom' : ''}.ts${typescript}.json`;
      const compilerOptions = {
        ...STRICT,
        lib: dom ? ['ES2023', 'DOM'] : ['ES2023'],
        module: { NodeNext: 'NodeNext', Bundler: 'Preserve', Node10: 'ESNext' }[resolution],
        moduleResolution: resolution,
        // What a Node10-era app sets: default imports of CommonJS modules.
        ...(resolution === 'Node10' ? { esModuleInterop: true } : {}),
      };
      writeIfChanged(join(dir, name), `${JSON.stringify({ compilerOptions, include }, null, 2)}\n`);
      const tsc = join(dir, typescript === 5 ? 'node_modules/typescript-5/bin/tsc' : 'node_modules/typescript/bin/tsc');
      return run(process.execPath, [tsc, '-p', name, '--pretty', 'false'], { cwd: dir, timeoutMs: 120_000 });
    },
    async importPackage<T>(specifier: string) {
      const resolved = createRequire(join(dir, 'package.json')).resolve(specifier);
      return (await import(pathToFileURL(resolved).href)) as T;
    },
    run: (command, args, options = {}) => run(command, args, { ...options, cwd: options.cwd ?? dir }),
    start(script, options) {
      const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
        cwd: options.cwd,
        env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', ...options.env }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
      return new Promise((resolve, reject) => {
        let listening = false;
        const timer = setTimeout(() => fail('did not print "listening on <url>" within 20 s'), 20_000);
        function fail(why: string) {
          clearTimeout(timer);
          if (listening) return;
          child.kill('SIGKILL');
          reject(new Error(`${script} ${why}:\n${output}`));
        }
        const onOutput = (chunk: Buffer) => {
          output += chunk.toString();
          const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
          if (!url) return;
          listening = true;
          clearTimeout(timer);
          child.stdout.off('data', onOutput);
          child.stdout.on('data', (more: Buffer) => (output += more.toString()));
          resolve({
            url,
            output: () => output,
            async stop() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              return exited;
            },
          });
        };
        child.stdout.on('data', onOutput);
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        void exited.then((code) => fail(`exited (${code}) before it listened`));
      });
    },
  };
}

/**
 * Logs in through an example app's own `/login` route (both examples have one) and returns the
 * session cookie it sets, as `name=value`; throws unless it answered 200.
 */
export async function loginTo(url: string, user = 'ada'): Promise<string> {
  const response = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) });
  if (response.status !== 200) throw new Error(`POST ${url}/login answered ${response.status}`);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}
