import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The k6 and xk6-sse versions the bundled build has, and the ones a build here asks for. */
export const K6_VERSION = 'v0.49.0';
export const XK6_SSE = 'github.com/phymbert/xk6-sse@v0.1.2';
const BUNDLED_NAME = 'k6-v0.49.0-xk6-sse-linux-amd64.gz';
const BUNDLED_SHA256 = 'd248dbba1d99a2b3860dddf1e6c15a751ce9ac5a31953caaafcbbee5906a019a';
/** `k6 inspect` on it succeeds only when 'k6/x/sse' can be imported. */
const SSE_PROBE = join(root, 'test/fixtures/k6/sse-probe.js');
/** go install + xk6 build download and compile k6: minutes on a cold module cache. */
export const K6_BUILD_TIMEOUT_MS = 15 * 60_000;

/** Where `findK6` looks. The defaults (`defaultK6Lookup`) are this clone's; tests pass their own. */
export interface K6Lookup {
  /** Read for `K6_BIN` and `PATH`, and handed to `go` and `xk6`. */
  env: Record<string, string | undefined>;
  /** The gzipped k6 + xk6-sse build some machines keep beside the clone, and the sha256 of it unpacked. */
  bundled: { path: string; sha256: string };
  /** Where binaries are unpacked or built (the clone's ignored `.node/`). */
  cacheDir: string;
  /** Progress of a long step (a build), for the test log. */
  log?: (line: string) => void;
}

/**
 * This clone's lookup. `TOKENWIRE_K6_TEST_ROOT` stands in for the clone's root when looking for
 * the bundled build and `.node/`, only so that the helper's own test can show what a machine
 * without them gets; nothing else sets it.
 */
export function defaultK6Lookup(): K6Lookup {
  const base = process.env.TOKENWIRE_K6_TEST_ROOT || root;
  return {
    env: process.env,
    bundled: { path: join(base, '../shared/tools', BUNDLED_NAME), sha256: BUNDLED_SHA256 },
    cacheDir: join(base, '.node'),
    log: (line) => console.log(line),
  };
}

interface Ran {
  code: number;
  output: string;
}

function runFile(file: string, args: string[], env: Record<string, string | undefined>, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...env, K6_NO_USAGE_REPORT: 'true' }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}${error && code === -1 ? error.message : ''}` });
    });
  });
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** The first executable `name` on `PATH`, as a shell finds it. */
export function onPath(name: string, path: string | undefined): string | undefined {
  return (path ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(isExecutable);
}

/** True when this k6 can import 'k6/x/sse' (what `sse-chat.js` and `mixed.js` do). */
export async function hasSseExtension(k6: string, env: Record<string, string | undefined>): Promise<boolean> {
  return (await runFile(k6, ['inspect', SSE_PROBE], env, 30_000)).code === 0;
}

/** The last lines of a failed command's output: enough to say why, not a build log. */
const tail = (output: string): string => output.trim().split('\n').slice(-3).join(' | ');

/** The one message a machine without a usable k6 gets: what was tried, and exactly how to get one. */
export function k6MissingMessage(tried: string[]): string {
  return [
    "The k6 tests need k6 with the xk6-sse extension (scripts import 'k6/x/sse'), and none was found:",
    ...tried.map((line) => `  - ${line}`),
    'Build one with xk6 (needs Go and the Go module proxy), then point K6_BIN at it:',
    '  GOBIN="$HOME/k6-build" go install go.k6.io/xk6/cmd/xk6@latest',
    `  "$HOME/k6-build/xk6" build ${K6_VERSION} --with ${XK6_SSE} --output "$HOME/k6-build/k6"`,
    '  K6_BIN="$HOME/k6-build/k6" ./tokenwire test',
    `Without Go: docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/xk6" grafana/xk6 build ${K6_VERSION} --with ${XK6_SSE}`,
    '(writes ./k6; then K6_BIN="$PWD/k6"). More in load/k6/README.md, "Getting k6 with the SSE extension".',
  ].join('\n');
}

/** The bundled build, unpacked once into `cacheDir` and checked against its sha256. */
function unpackBundled(lookup: K6Lookup): string {
  const target = join(lookup.cacheDir, 'k6-v0.49.0-xk6-sse');
  if (existsSync(target)) return target;
  const binary = gunzipSync(readFileSync(lookup.bundled.path));
  const sha = createHash('sha256').update(binary).digest('hex');
  if (sha !== lookup.bundled.sha256) throw new Error(`the bundled k6 build ${lookup.bundled.path} unpacks to sha256 ${sha}, expected ${lookup.bundled.sha256}`);
  mkdirSync(lookup.cacheDir, { recursive: true });
  writeFileSync(`${target}.tmp`, binary);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  return target;
}

/** Builds k6 with xk6-sse into `cacheDir` with xk6; resolves with its path, or with why not. */
async function build(go: string, lookup: K6Lookup): Promise<{ k6: string } | { failed: string }> {
  const gobin = join(lookup.cacheDir, 'go-bin');
  const target = join(lookup.cacheDir, 'k6-xk6-sse');
  const env = { ...lookup.env, GOBIN: gobin };
  mkdirSync(gobin, { recursive: true });
  lookup.log?.(`k6: none with xk6-sse here; building k6 ${K6_VERSION} with ${XK6_SSE} (go install xk6, xk6 build), which can take minutes`);
  const install = await runFile(go, ['install', 'go.k6.io/xk6/cmd/xk6@latest'], env, K6_BUILD_TIMEOUT_MS);
  if (install.code !== 0) return { failed: `go install go.k6.io/xk6/cmd/xk6@latest failed (offline?): ${tail(install.output)}` };
  rmSync(`${target}.tmp`, { force: true });
  const built = await runFile(join(gobin, 'xk6'), ['build', K6_VERSION, '--with', XK6_SSE, '--output', `${target}.tmp`], env, K6_BUILD_TIMEOUT_MS);
  if (built.code !== 0) return { failed: `xk6 build ${K6_VERSION} --with ${XK6_SSE} failed (offline?): ${tail(built.output)}` };
  if (!(await hasSseExtension(`${target}.tmp`, lookup.env))) return { failed: "the k6 xk6 built cannot import 'k6/x/sse'" };
  renameSync(`${target}.tmp`, target);
  return { k6: target };
}

/**
 * A k6 binary that can run every script in load/k6, in this order: `$K6_BIN` (refused when it
 * lacks the extension); a `k6` on `PATH` with the extension; the bundled build beside the clone,
 * where present (sha256-checked); one built earlier, or now when `go` is on `PATH`, with xk6
 * into `cacheDir`. Rejects with `k6MissingMessage` when none of them gives one.
 */
export async function findK6(lookup: K6Lookup): Promise<string> {
  const given = lookup.env.K6_BIN;
  if (given) {
    if (!isExecutable(given)) throw new Error(k6MissingMessage([`K6_BIN=${given} is not an executable file`]));
    if (!(await hasSseExtension(given, lookup.env))) throw new Error(k6MissingMessage([`K6_BIN=${given} cannot import 'k6/x/sse'`]));
    return given;
  }
  const tried = ['K6_BIN is not set'];
  const onPathK6 = onPath('k6', lookup.env.PATH);
  if (onPathK6 && (await hasSseExtension(onPathK6, lookup.env))) return onPathK6;
  tried.push(onPathK6 ? `the k6 on PATH (${onPathK6}) cannot import 'k6/x/sse'` : 'no k6 on PATH');
  if (existsSync(lookup.bundled.path)) return unpackBundled(lookup);
  const built = join(lookup.cacheDir, 'k6-xk6-sse');
  if (isExecutable(built) && (await hasSseExtension(built, lookup.env))) return built;
  const go = onPath('go', lookup.env.PATH);
  if (!go) {
    tried.push('no go on PATH to build one with xk6');
    throw new Error(k6MissingMessage(tried));
  }
  const result = await build(go, lookup);
  if ('k6' in result) return result.k6;
  tried.push(result.failed);
  throw new Error(k6MissingMessage(tried));
}

let found: Promise<string> | undefined;

/** `findK6(defaultK6Lookup())`, once per test process (a build happens at most once). */
export function k6Binary(): Promise<string> {
  found ??= findK6(defaultK6Lookup());
  return found;
}
