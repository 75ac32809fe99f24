import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildForBench } from './build-for-bench.js';
import { connectInspector } from './inspector-client.js';
import { installCleanup, killAllNow } from './processes.js';
import { benchServerEnv, builtRunner, ROOT, startServerProcess } from './servers.js';
import { openStream, type StreamHandle } from './stream-clients.js';
import type { Target, Wire } from './types.js';

/**
 * Where an idle connection's heap goes (part 4): starts a compiled server with the
 * inspector, writes a V8 heap snapshot, opens N idle connections of one wire (a parked SSE
 * stream, an idle WebSocket), writes a second snapshot and prints the difference per
 * connection, grouped by V8 node type and constructor / closure name. A snapshot forces a
 * full GC first, so both are of live objects only.
 *
 *   npx tsx load/bench/idle-heap.ts --target tokenwire --wire sse --connections 1000
 */
const USAGE = 'idle-heap --target tokenwire|baseline --wire sse|ws|http [--connections 1000] [--top 40] [--strings] [--retainers <type name part> [--depth 2]] [--source <dir>]';

interface Group {
  count: number;
  bytes: number;
}

interface Snapshot {
  fields: string[];
  types: string[];
  edgeFields: string[];
  edgeTypes: string[];
  nodes: number[];
  edges: number[];
  strings: string[];
}

async function loadSnapshot(path: string): Promise<Snapshot> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const { meta } = raw.snapshot;
  return { fields: meta.node_fields, types: meta.node_types[0], edgeFields: meta.edge_fields, edgeTypes: meta.edge_types[0], nodes: raw.nodes, edges: raw.edges, strings: raw.strings };
}

/** "type name" of the node at `i` (an offset into `nodes`); strings and numbers by kind unless `strings`. */
function keyOf(s: Snapshot, i: number, strings: boolean): string {
  const type = s.types[s.nodes[i + s.fields.indexOf('type')] as number] ?? '?';
  let name = s.strings[s.nodes[i + s.fields.indexOf('name')] as number] ?? '?';
  if (type === 'number' || (!strings && (type === 'string' || type === 'concatenated string' || type === 'sliced string'))) name = '';
  else if (type === 'string') name = JSON.stringify(name.slice(0, 40));
  else if (name.length > 60) name = `${name.slice(0, 57)}…`;
  return `${type} ${name}`;
}

/** Counts and self sizes of a snapshot's nodes by "type name". */
function groupSnapshot(s: Snapshot, strings: boolean): Map<string, Group> {
  const size = s.fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  for (let i = 0; i < s.nodes.length; i += s.fields.length) {
    const key = keyOf(s, i, strings);
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += s.nodes[i + size] as number;
    groups.set(key, group);
  }
  return groups;
}

/**
 * For the nodes of `after` that `before` did not have (ids are stable between snapshots of a
 * process) and whose key contains `match`: a chain of `depth` retainers (each node's first
 * strong one), as "key ← .edge of retainer ← …", with their count and self sizes.
 */
function retainersOf(before: Snapshot, after: Snapshot, match: string, depth: number): Map<string, Group> {
  const idAt = after.fields.indexOf('id');
  const edgeCountAt = after.fields.indexOf('edge_count');
  const old = new Set<number>();
  for (let i = 0; i < before.nodes.length; i += before.fields.length) old.add(before.nodes[i + idAt] as number);
  const [typeAt, nameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) => after.edgeFields.indexOf(f)) as [number, number, number];
  /** Each node's first strong retainer: [retainer offset, edge label]. */
  const parent = new Map<number, [number, string]>();
  let e = 0;
  for (let i = 0; i < after.nodes.length; i += after.fields.length) {
    const count = after.nodes[i + edgeCountAt] as number;
    for (let k = 0; k < count; k++, e += after.edgeFields.length) {
      const to = after.edges[e + toAt] as number;
      const type = after.edgeTypes[after.edges[e + typeAt] as number];
      if (type === 'weak' || type === 'shortcut' || parent.has(to)) continue;
      const raw = after.edges[e + nameAt] as number;
      parent.set(to, [i, type === 'element' || type === 'hidden' ? `[${raw}]` : `.${after.strings[raw]}`]);
    }
  }
  const out = new Map<string, Group>();
  const sizeAt = after.fields.indexOf('self_size');
  for (let i = 0; i < after.nodes.length; i += after.fields.length) {
    if (old.has(after.nodes[i + idAt] as number) || !keyOf(after, i, true).includes(match)) continue;
    let key = keyOf(after, i, true);
    for (let at = i, d = 0; d < depth; d++) {
      const up = parent.get(at);
      if (!up) break;
      key += ` ← ${up[1]} of ${keyOf(after, up[0], false)}`;
      at = up[0];
    }
    const group = out.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += after.nodes[i + sizeAt] as number;
    out.set(key, group);
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'tokenwire' },
      wire: { type: 'string', default: 'sse' },
      connections: { type: 'string', default: '1000' },
      top: { type: 'string', default: '40' },
      source: { type: 'string' },
      strings: { type: 'boolean', default: false },
      retainers: { type: 'string' },
      depth: { type: 'string', default: '2' },
    },
  });
  const target = values.target as Target;
  const wire = values.wire as Wire;
  const n = Number(values.connections);
  if (!['tokenwire', 'baseline'].includes(target) || !['sse', 'ws', 'http'].includes(wire) || !(n > 0)) throw new Error(USAGE);
  installCleanup(() => killAllNow());
  const build = await buildForBench(values.source ?? ROOT);
  // The idle servers' environment in the bench: the first token 60 s out.
  const env = benchServerEnv(30, 60_000);
  const server = await startServerProcess(target, { env, runner: builtRunner(build), inspect: true });
  const inspector = await connectInspector(server.inspectorUrl ?? '', 60_000);
  const snapshot = async (name: string) => {
    const path = join(tmpdir(), `idle-heap-${process.pid}-${name}.heapsnapshot`);
    await inspector.evaluate(`process.getBuiltinModule('v8').writeHeapSnapshot(${JSON.stringify(path)})`);
    return path;
  };
  const open = async (count: number): Promise<StreamHandle[]> => {
    let opened = 0;
    const errors: string[] = [];
    const handles: StreamHandle[] = [];
    await new Promise<void>((resolve) => {
      const sink = { tokens() {}, sent() {}, open: () => ++opened === count && resolve(), end: (e?: string) => void (e && errors.push(e)) };
      for (let i = 0; i < count; i++) handles.push(openStream(target, wire, { port: server.port, tokens: 10, prompt: 'Tell me a story.', idle: true }, sink));
    });
    if (errors.length) throw new Error(`while opening: ${errors.slice(0, 3).join('; ')}`);
    return handles;
  };
  try {
    // One-time costs (JIT, first allocations, pools) land before the first snapshot.
    await Promise.all((await open(50)).map((h) => h.close()));
    await sleep(300);
    const before = await snapshot('before');
    const handles = await open(n);
    await sleep(1_000);
    const after = await snapshot('after');
    await Promise.all(handles.map((h) => h.close()));
    const [sa, sb] = [await loadSnapshot(before), await loadSnapshot(after)];
    await Promise.all([rm(before), rm(after)]);
    const [a, b] = [groupSnapshot(sa, values.strings), groupSnapshot(sb, values.strings)];
    if (values.retainers !== undefined) {
      const found = [...retainersOf(sa, sb, values.retainers, Number(values.depth))].filter(([, g]) => g.count >= n / 2).sort((x, y) => y[1].bytes - x[1].bytes);
      console.log(`retainers of new "${values.retainers}" nodes (per connection): bytes count chain`);
      for (const [key, g] of found.slice(0, Number(values.top))) console.log(`${(g.bytes / n).toFixed(0).padStart(6)} ${(g.count / n).toFixed(2).padStart(6)}  ${key}`);
      return;
    }
    const rows = [...b].map(([key, g]) => {
      const was = a.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (g.count - was.count) / n, bytes: (g.bytes - was.bytes) / n };
    });
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    const objects = rows.reduce((s, r) => s + r.count, 0);
    console.log(`${target}/${wire}: ${n} connections: ${(total / 1024).toFixed(2)} KiB and ${objects.toFixed(1)} heap nodes per connection (snapshot self sizes)`);
    const byType = new Map<string, Group>();
    for (const r of rows) {
      const type = r.key.split(' ')[0] ?? '';
      const g = byType.get(type) ?? { count: 0, bytes: 0 };
      g.count += r.count;
      g.bytes += r.bytes;
      byType.set(type, g);
    }
    console.log('by node type:', [...byType].filter(([, g]) => Math.abs(g.bytes) >= 8).sort((x, y) => y[1].bytes - x[1].bytes).map(([t, g]) => `${t} ${Math.round(g.bytes)} B (${g.count.toFixed(1)})`).join(' · '));
    console.log('   bytes   count  type name');
    for (const r of rows.filter((r) => Math.abs(r.bytes) >= 4).sort((x, y) => y.bytes - x.bytes).slice(0, Number(values.top))) {
      console.log(`${r.bytes.toFixed(0).padStart(8)} ${r.count.toFixed(2).padStart(7)}  ${r.key}`);
    }
  } finally {
    inspector.close();
    await server.stop();
    await build.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  killAllNow();
  process.exit(1);
});
