import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shape docs/architecture.md describes, checked against the imports themselves: a folder
// of server/ may import only from the folders below it, so there is no cycle between folders
// and no arrow that runs back up (an engine that knows a transport, a view that knows an edge).

const root = fileURLToPath(new URL('../..', import.meta.url));
const server = join(root, 'server');

/** Each folder (or root file) of server/, top to bottom: a folder may import only from those after it. */
const LAYERS: readonly string[][] = [
  ['standalone'],
  ['index.ts'],
  ['tokenwire.ts'],
  ['options.ts'],
  ['edge'],
  ['service'],
  ['views'],
  ['fleet'],
  ['engine'],
  ['access', 'tools'],
  ['models'],
  ['observability'],
  ['streams'],
  ['settings'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The room of a file: its first folder under server/, or the file's own name at server/'s root. */
const roomOf = (file: string) => relative(server, file).split('/')[0]!;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
    if (target.startsWith(server)) found.push(target);
  }
  return found;
}

/** Each static import of a file under server/ with the names it binds (`import type { A, b as c }` → A, b). */
function namedImportsOf(file: string): { target: string; names: string[] }[] {
  const text = readFileSync(file, 'utf8');
  const found: { target: string; names: string[] }[] = [];
  for (const match of text.matchAll(/import\s+([^'";]*?)\s*from\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), match[2]!.replace(/\.js$/, '.ts')));
    const names = [...match[1]!.replace(/\bas\s+\w+/g, '').matchAll(/[A-Za-z_$][\w$]*/g)].map((m) => m[0]).filter((name) => name !== 'type');
    if (target.startsWith(server)) found.push({ target, names });
  }
  return found;
}

const files = sources(server);
const edges = new Map<string, Set<string>>();
for (const file of files) {
  for (const target of importsOf(file)) {
    const from = roomOf(file);
    const to = roomOf(target);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(`${to}\t${relative(root, file)} → ${relative(root, target)}`);
  }
}

describe('the layout of server/', () => {
  it('has every folder in a layer', () => {
    const known = new Set(LAYERS.flat());
    expect([...new Set(files.map(roomOf))].filter((room) => !known.has(room))).toEqual([]);
  });

  it('imports only downwards: no folder cycle, no arrow back up (edges → services → views → fleet → engine → access/tools → models → observability → streams → settings)', () => {
    const rank = new Map(LAYERS.flatMap((rooms, i) => rooms.map((room) => [room, i] as const)));
    const upward: string[] = [];
    for (const [from, targets] of edges) {
      for (const entry of targets) {
        const [to, where] = entry.split('\t') as [string, string];
        // Same layer or above: a cycle waiting to happen, or an arrow that runs back up.
        if ((rank.get(to) ?? Infinity) <= (rank.get(from) ?? -1)) upward.push(where);
      }
    }
    expect(upward).toEqual([]);
  });

  it('hands the edges narrow services: no file under server/edge imports service/core.ts (the Core locator), nor the hub or the approval gate themselves', () => {
    const core = join(server, 'service', 'core.ts');
    const reaching: string[] = [];
    for (const file of files.filter((f) => roomOf(f) === 'edge')) {
      for (const { target, names } of namedImportsOf(file)) {
        // A stream's log (StreamLog) is what every view reads; the hub that holds the logs, and the gate, are the services' business.
        const past = target === core ? ['*'] : names.filter((name) => /^(Hub|createHub|ApprovalGate|createApprovalGate)$/.test(name));
        for (const name of past) reaching.push(`${relative(root, file)} → ${relative(root, target)} (${name})`);
      }
    }
    expect(reaching).toEqual([]);
  });

  it('has one SSE view: only views/sse-view.ts sets the event-stream head and writes heartbeats; every wire brings an encoder', () => {
    const viewing = files
      .filter((file) => /text\/event-stream|encodeSseComment\(/.test(readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')))
      .map((file) => relative(root, file));
    expect(viewing).toEqual(['server/views/sse-view.ts']);
  });
});
