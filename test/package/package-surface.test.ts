import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedApp, type PackedApp } from '../helpers/packed-app.js';

// The package as npm installs it: what the tarball holds, what each entry point resolves to and
// what its declarations import, its strict type-check, what it loads at run time, and its bin.

interface Manifest {
  exports: Record<string, string | { types: string; import: string; default: string }>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

let app: PackedApp;
let installed: string;
let manifest: Manifest;

beforeAll(async () => {
  app = await packedApp();
  installed = join(app.dir, 'node_modules/tokenwire');
  manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
}, 300_000);

const entries = () => Object.entries(manifest.exports).filter((entry): entry is [string, { types: string; import: string; default: string }] => typeof entry[1] !== 'string');
const specifier = (subpath: string) => (subpath === '.' ? 'tokenwire' : `tokenwire/${subpath.slice(2)}`);

/** The bare imports of every declaration file reachable from `file`. */
function declarationImports(file: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const text = readFileSync(path, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]|<reference\s+types="([^"]+)"/g)) {
      const spec = (match[1] ?? match[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(path), spec.replace(/\.js$/, '.d.ts')));
      else bare.add(spec);
    }
  };
  visit(file);
  return bare;
}

describe('the packed tarball', () => {
  it('holds the built package, its bin, README, LICENSE and nothing of the sources, tests or load kit', () => {
    const files = execFileSync('tar', ['-tzf', app.tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const outside = files.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$|bin\/tokenwire\.js$|scripts\/node-flags\.json$)/.test(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|load|examples|client\/demo)\//.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist/demo/index.html', 'dist/server/standalone/main.js', 'dist/server/index.d.ts.map']));
  });

  it('installs no optional peer: the scratch app asked for ioredis, react and @ai-sdk/provider itself', () => {
    expect(manifest.peerDependencies).toEqual({ '@ai-sdk/provider': expect.any(String), ioredis: expect.any(String), react: expect.any(String) });
    expect(Object.keys(manifest.dependencies).filter((name) => name === 'ioredis' || name === 'ai' || name.startsWith('@ai-sdk/'))).toEqual([]);
  });
});

describe('entry points', () => {
  it('each resolves through `exports` to its built file, with declarations beside it', () => {
    expect(Object.keys(manifest.exports)).toEqual(['.', './client', './react', './protocol', './redis', './ai-sdk', './package.json']);
    const require = createRequire(join(app.dir, 'package.json'));
    for (const [subpath, target] of entries()) {
      expect(require.resolve(specifier(subpath)), subpath).toBe(join(installed, target.import));
      expect(target.default).toBe(target.import);
      expect(existsSync(join(installed, target.types)), target.types).toBe(true);
      expect(target.types).toBe(target.import.replace(/\.js$/, '.d.ts'));
    }
  });

  it('declare their types on node:* and runtime dependencies only: no @types/express or @types/ws needed', () => {
    const allowed = (subpath: string) => new Set(['zod', 'prom-client', ...(subpath === './redis' ? ['ioredis'] : []), ...(subpath === './ai-sdk' ? ['@ai-sdk/provider'] : [])]);
    for (const [subpath, target] of entries()) {
      const imports = [...declarationImports(join(installed, target.types))].filter((spec) => !spec.startsWith('node:'));
      expect(imports.filter((spec) => !allowed(subpath).has(spec)), subpath).toEqual([]);
    }
  });

  it.each([
    ['NodeNext', 7],
    ['Bundler', 7],
    ['NodeNext', 5],
    ['Node10', 5],
  ] as const)('type-check in a strict app under %s resolution with TypeScript %i, no DOM lib, every shipped declaration included', async (resolution, typescript) => {
    const result = await app.typecheck(['checks'], { resolution, typescript });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
    // A strict check of every declaration (the AI SDK's among them) takes tsc seconds of CPU, and
    // more on a shared machine: as long as the helper's own tsc deadline.
  }, 120_000);

  it('load without ioredis except tokenwire/redis (the hook that forbids it bites there), none with the AI SDK (tokenwire/ai-sdk imports its types only), and load from CommonJS too', async () => {
    const hook = ['--import', './checks/forbid-ioredis.mjs', '--import', './checks/forbid-ai-sdk.mjs'];
    const load = (specifiers: string[]) =>
      app.run(process.execPath, [...hook, '--input-type=module', '-e', `for (const s of ${JSON.stringify(specifiers)}) console.log(s, Object.keys(await import(s)).length > 0);`]);
    const allButRedis = await load(['tokenwire', 'tokenwire/client', 'tokenwire/react', 'tokenwire/protocol', 'tokenwire/ai-sdk']);
    expect(allButRedis.stderr).toBe('');
    expect(allButRedis.stdout).toBe('tokenwire true\ntokenwire/client true\ntokenwire/react true\ntokenwire/protocol true\ntokenwire/ai-sdk true\n');
    const redis = await load(['tokenwire/redis']);
    expect(redis.code).not.toBe(0);
    expect(redis.stderr).toMatch(/ioredis was loaded/);
    // The AI SDK hook bites too: the scratch app has @ai-sdk/provider, for the declarations.
    const sdk = await load(['@ai-sdk/provider']);
    expect(sdk.code).not.toBe(0);
    expect(sdk.stderr).toMatch(/@ai-sdk\/provider was loaded/);
    // Node 22.12+ loads an ES module graph from require(): CommonJS apps can use the package.
    const required = await app.run(process.execPath, ['-e', 'const t = require("tokenwire"); console.log(typeof t.createTokenwire, typeof require("tokenwire/redis").redisStore)']);
    expect(required.stdout).toBe('function function\n');
  });
});

describe('the tokenwire bin', () => {
  it('prints its usage and exits 2 without a command or with an unknown one', async () => {
    const bin = join(app.dir, 'node_modules/.bin/tokenwire');
    for (const args of [[], ['serve'], ['start', '--port=1']]) {
      const result = await app.run(bin, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^usage: tokenwire start\n/);
      expect(result.stdout).toBe('');
    }
  });

  it('`tokenwire start` with REDIS_URL and no ioredis says to install it and exits 2', async () => {
    const result = await app.run(join(app.dir, 'node_modules/.bin/tokenwire'), ['start'], {
      env: { REDIS_URL: 'redis://127.0.0.1:1', NODE_OPTIONS: `--import ${join(app.dir, 'checks/forbid-ioredis.mjs')}` },
    });
    expect([result.code, result.stderr]).toEqual([2, 'tokenwire: REDIS_URL is set, which needs the ioredis package: npm install ioredis\n']);
  });

  it('`tokenwire start` runs the standalone server with the demo, never loading ioredis, and drains on SIGTERM', async () => {
    const server = await app.start(join(app.dir, 'node_modules/.bin/tokenwire'), {
      cwd: app.dir,
      args: ['start'],
      env: { NODE_OPTIONS: `--import ${join(app.dir, 'checks/forbid-ioredis.mjs')}`, LOG_LEVEL: 'info' },
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const demo = await fetch(`${server.url}/`);
      expect(demo.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await demo.text()).toMatch(/<script type="module"[^>]+src="\.\/assets\//);
      const chat = await fetch(`${server.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[{"role":"user","content":"hi"}],"options":{"simulate":{"tokens":3,"tokensPerSecond":1000}}}' });
      expect(await chat.text()).toMatch(/event: done\ndata: \{"type":"done"[^\n]*"reason":"stop"/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toMatch(/ioredis was loaded/);
  });
});
