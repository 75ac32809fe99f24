import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { onExit } from './processes.js';

/**
 * Compiles shared/, server/ and load/bench/ to plain JavaScript in a temporary directory, the
 * way `npm run build` (tsc) does, so the bench runs what `npm start` ships. Under `tsx`, esbuild's
 * keepNames wraps every function in `__name(fn, "…")`, which gives each closure instance its own
 * property store: it adds CPU per closure and about 8 KiB per idle WebSocket session
 * (README.md, "Runner"). Each file is transpiled on its own (isolatedModules is on), in about a
 * second; imports keep their `.js` specifiers, and node_modules is a symlink to the repository's.
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
  for (const file of files) {
    const source = await readFile(join(root, file), 'utf8');
    const { outputText, diagnostics } = ts.transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true, sourceMap: false },
    });
    if (diagnostics?.length) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]?.messageText ?? '', '\n')}`);
    const out = join(dir, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, outputText);
  }
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
