/**
 * The per-token path in one process, without sockets: the simulated model paced at
 * `rate`, the engine, the hub and its memory store, the stream metrics and one view per stream
 * (the shared SSE view, or the WebSocket views and sender) writing into sinks that only count.
 * Prints the CPU (user + system) per 1,000 tokens. A/B decisions about the hot path read this,
 * or its instruction count under `valgrind --tool=callgrind`, not the noisy socket bench.
 * `--gc` adds the garbage collector's pauses in the measured phase (count, total, p90, max by
 * kind: scavenge pauses are what inter-token p99 sees); `--alloc` the bytes allocated per token
 * by function (V8's sampling heap profiler, short-lived objects included).
 *
 *   npx tsx load/bench/token-path.ts [--wire sse|ws] [--streams 1000] [--rate 100] [--seconds 3] [--gc] [--alloc]
 */
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../server/settings/config.js';
import { createCore } from '../../server/service/core.js';
import { createLogger } from '../../server/observability/log.js';
import { openView } from '../../server/views/stream-view.js';
import { runSseView } from '../../server/views/sse-view.js';
import { createWsSender } from '../../server/views/ws-sender.js';
import { createWsViews } from '../../server/views/ws-views.js';

const { values } = parseArgs({
  options: { wire: { type: 'string' }, streams: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, gc: { type: 'boolean' }, alloc: { type: 'boolean' } },
});
const wire = values.wire ?? 'sse';
const streams = Number(values.streams ?? 1000);
const rate = Number(values.rate ?? 100);
const seconds = Number(values.seconds ?? 3);
const tokensPerStream = Math.round(rate * seconds);

const config = loadConfig({ LOG_LEVEL: 'silent', MODEL_PROVIDER: 'simulated', SIM_TOKENS_PER_SECOND: String(rate), SIM_FIRST_TOKEN_MS: '0', MAX_STREAMS: '1000000', STREAM_TTL_MS: '1000' });
const core = createCore(config, { log: createLogger(config) });

let bytes = 0;
let ended = 0;
let warmEnded = 0;
const resolvers = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const allDone = resolvers();
const warmDone = resolvers();
const WARM = 50;

async function startOne(i: number, tokens: number, measured: boolean): Promise<void> {
  const onEnd = () => (measured ? ++ended === streams && allDone.resolve() : ++warmEnded === WARM && warmDone.resolve());
  const stream = await core.chat.startChat({ messages: [{ role: 'user', content: `Tell me a story ${i % 7}.` }], options: { simulate: { tokens } } }, { transport: wire === 'ws' ? 'ws' : 'sse' });
  if (wire === 'ws') {
    const socket = { readyState: 1, bufferedAmount: 0, send: (data: string) => void (bytes += data.length) };
    const views = createWsViews(createWsSender(socket, { highWaterBytes: 65_536, maxBufferedBytes: 1 << 20, onOverflow: () => {} }), () => true);
    stream.subscribe(({ frame }) => frame.type === 'done' && onEnd());
    await views.view(stream, -1);
    return;
  }
  const opened = await openView(stream, -1);
  if (opened.status !== 'ok') throw new Error(opened.status);
  runSseView(opened, { write: (chunk) => ((bytes += chunk.length), true), end: (chunk) => ((bytes += chunk?.length ?? 0), onEnd()), bufferedBytes: 0 }, { streamId: stream.id, heartbeatMs: 15_000, retryMs: 2_000, maxBufferedBytes: 1 << 20, afterSeq: -1 });
}

// Warm-up: JIT and first allocations, not measured.
for (let i = 0; i < WARM; i++) await startOne(i, 200, false);
await warmDone.promise;
const gcPauses: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => void gcPauses.push(...list.getEntries()));
if (values.gc) gcObserver.observe({ entryTypes: ['gc'] });
const inspector = values.alloc ? new Session() : undefined;
if (inspector) {
  inspector.connect();
  await inspector.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
}
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const bytes0 = bytes;
for (let i = 0; i < streams; i++) await startOne(i, tokensPerStream, true);
await allDone.promise;
const cpu = process.cpuUsage(cpu0);
const tokens = streams * tokensPerStream;
const ms = (cpu.user + cpu.system) / 1000;
process.stdout.write(
  `${wire} ${streams} streams × ${rate} tok/s × ${seconds} s: ${tokens} tokens, ${(bytes - bytes0) / tokens | 0} B/token, CPU ${ms.toFixed(0)} ms = ${((ms * 1000) / tokens).toFixed(2)} ms per 1k tokens (wall ${((performance.now() - wall0) / 1000).toFixed(1)} s)\n`,
);
if (values.gc) {
  gcObserver.disconnect();
  const kinds: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental marking', 8: 'weak callbacks' };
  const byKind = new Map<string, number[]>();
  for (const e of gcPauses) {
    const kind = kinds[((e as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
    byKind.set(kind, [...(byKind.get(kind) ?? []), e.duration]);
  }
  for (const [kind, durations] of byKind) {
    const ms = durations.sort((a, b) => a - b);
    const total = ms.reduce((a, b) => a + b, 0);
    process.stdout.write(`  gc ${kind}: ${ms.length} pauses, ${total.toFixed(1)} ms, p90 ${(ms[Math.floor(ms.length * 0.9)] ?? 0).toFixed(1)} ms, max ${(ms.at(-1) ?? 0).toFixed(1)} ms\n`);
  }
}
if (inspector) {
  interface SampleNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: SampleNode[] }
  const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } };
  const bySite = new Map<string, number>();
  const walk = (node: SampleNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.replace(/^.*?\/(server|shared|load|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    if (node.selfSize) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`  allocated ~${(total / tokens).toFixed(0)} B per token (sampled), by function:\n`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`    ${(bytes / tokens).toFixed(1).padStart(7)} B  ${site}\n`);
}
await core.control.shutdown(100);
process.exit(0);
