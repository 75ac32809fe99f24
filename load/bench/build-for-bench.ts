import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onExit } from './processes.js';

/**
 * Compiles shared/, server/ and load/bench/ to plain JavaScript in a temporary directory, the
 * way `npm run build` (tsc) does, so the bench runs what `npm start` ships. Under `tsx`, esbuild's
 * keepNames wraps every function in `__name(fn, "…")`, which gives each closure instance its own
 * property store: it adds CPU per closure and about 8 KiB per idle WebSocket session
 * (README.md, "Runner"). TypeScript 7's native `tsc` emits without type-checking (`--noCheck`;
 * isolatedModules is on, so each file stands alone) in well under a second; imports keep their
 * `.js` specifiers, and node_modules is a symlink to the repository's.
 */
export interface BenchBuild {
  dir: string;
  /** The compiled path of a repository .ts file. */
  path(tsFile: string): string;
  remove(): Promise<void>;
}

const SOURCES = ['shared', 'server', 'load/bench'];

async function listTs(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listTs(root, rel)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(rel);
  }
  return files;
}

export async function buildForBench(root: string): Promise<BenchBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenwire-bench-'));
  // Removed on every way out, Ctrl-C included (rmSync: exit handlers cannot wait).
  const cancel = onExit(() => rmSync(dir, { recursive: true, force: true }));
  const files = (await Promise.all(SOURCES.map((s) => listTs(root, s)))).flat();
  // The repository's own compiler, also for another --source tree.
  const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
  await promisify(execFile)(tsc, [
    '--ignoreConfig', '--outDir', dir, '--rootDir', root, '--module', 'ESNext', '--moduleResolution', 'Bundler',
    '--target', 'ES2023', '--verbatimModuleSyntax', '--noCheck', '--skipLibCheck', '--types', 'node',
    ...files.map((f) => join(root, f)),
  ]);
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    dir,
    path: (tsFile) => join(dir, relative(root, join(root, tsFile)).replace(/\.ts$/, '.js')),
    remove: async () => {
      cancel();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
