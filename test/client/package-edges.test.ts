import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every module reachable from `entry` through relative imports, and every bare import they make. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = resolve(dirname(file), spec).replace(/\.js$/, '');
      visit([`${target}.ts`, `${target}.tsx`].find((f) => existsSync(f))!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('client package edges', () => {
  it('the library core (client/index.ts) never imports React: React stays a peer of client/react.ts only', () => {
    const { files, packages } = importGraph(join(ROOT, 'client/index.ts'));
    expect([...packages].filter((p) => p === 'react' || p.startsWith('react/') || p.startsWith('react-dom'))).toEqual([]);
    expect([...files].some((f) => f.endsWith('client/react.ts'))).toBe(false);
    // Isomorphic: nothing from Node either.
    expect([...packages].filter((p) => p.startsWith('node:'))).toEqual([]);
  });

  it('the hook adds React and nothing else to what the core needs', () => {
    const core = importGraph(join(ROOT, 'client/index.ts')).packages;
    const hook = importGraph(join(ROOT, 'client/react.ts')).packages;
    expect([...hook].filter((p) => !core.has(p))).toEqual(['react']);
    expect([...core].sort()).toEqual(['eventsource-parser', 'nanoid', 'zod']);
  });
});
