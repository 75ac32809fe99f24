/**
 * Where a server's CPU time went, from a V8 .cpuprofile written by `npm run bench -- --profile`:
 *
 *   npx tsx load/bench/profile-summary.ts load/results/profiles/tokenwire-latency/CPU….cpuprofile [--top 30] [--from 3] [--to 20]
 *
 * Prints self time by function and by area (tokenwire's own files, each dependency, Node's
 * internals, GC, idle), each as a share of the busy (non-idle) time.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The area a frame belongs to: a repository folder, a package, node:internal, or a V8 pseudo-frame. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return functionName;
    return '(native)';
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `npm:${pkg[1]}`;
  if (path.startsWith('node:')) return path.replace(/^node:internal\/([^/]+).*/, 'node:$1');
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

/**
 * `fromS`: leave out the first seconds (start-up: module loading and compiling); `toS`: and
 * everything after this second (one transport's levels, or a burst, out of a longer profile).
 * The profiler samples wall time: on a busy machine a syscall that wakes a reader (writev on
 * loopback) collects the samples of the time its thread waited for a core.
 */
export function summarizeProfile(file: string, top = 25, fromS = 0, toS = Infinity): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    if (elapsed >= fromS * 1e6 && elapsed < toS * 1e6) self.set(id, (self.get(id) ?? 0) + delta);
  });

  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    if (area === '(idle)') continue;
    busy += us;
    const where = node.callFrame.url ? `${areaOf(node.callFrame)}:${node.callFrame.lineNumber + 1}` : '';
    const key = `${node.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const window = `${fromS ? ` from ${fromS} s` : ''}${Number.isFinite(toS) ? ` to ${toS} s` : ''}`;
  const lines = [`${file}: ${(total / 1e6).toFixed(1)} s profiled${window}, ${(busy / 1e6).toFixed(1)} s busy`, '', 'by area (self time, % of busy):'];
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) if (area !== '(idle)') lines.push(`  ${pct(us)} ${ms(us)}  ${area}`);
  lines.push('', 'by function (self time, % of busy):');
  for (const [fn, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)} ${ms(us)}  ${fn}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: tsx load/bench/profile-summary.ts <file.cpuprofile>… [--top N] [--from seconds] [--to seconds]\n');
    process.exit(2);
  }
  for (const file of positionals) process.stdout.write(`${summarizeProfile(file, Number(values.top ?? 25), Number(values.from ?? 0), Number(values.to ?? Infinity))}\n\n`);
}
