import type { ClientPool } from './client-pool.js';
import { connectInspector } from './inspector-client.js';
import { settledRss } from './server-sampler.js';
import type { ServerProcess } from './servers.js';
import type { IdleResult, LevelTask, Wire } from './types.js';

const METHOD: Record<string, string> = {
  'tokenwire/sse': 'POST /api/chat held open while the stream waits for its first token (SIM_FIRST_TOKEN_MS=60000): a parked stream with its hub entry, log, engine and its place on the shared token clock and heartbeat',
  'tokenwire/ws': 'WebSocket open on /ws with no stream started',
  'baseline/http': 'POST /chat held open while its first token is scheduled 60 s out (a pending timer and an open response)',
  'baseline/ws': 'WebSocket open on /ws with nothing sent',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function idleTask(server: ServerProcess, wire: Wire, connections: number, rampMs: number): Omit<LevelTask, 'worker' | 'workers'> {
  const startAt = Date.now() + 200;
  return {
    type: 'level',
    mode: 'idle',
    target: server.target,
    wire,
    port: server.port,
    totalStreams: connections,
    startAt,
    rampMs,
    tokensPerStream: 10,
    tokensPerSecond: 1,
    windowFrom: startAt,
    windowTo: startAt,
    deadline: startAt + rampMs + 40_000,
    prompt: 'Tell me a story.',
  };
}

/**
 * Memory per idle connection: on a fresh server, open and drop a few connections (so one-time
 * costs land before the first reading), force a full GC through the inspector and read RSS and
 * the V8 heap, open `connections`, let the server settle, GC and read again. Per connection:
 * the V8 heap in use grew by H, and RSS grew by N beyond the heap's committed growth (native:
 * sockets, buffers); the figure is H + N over the connections opened. Kernel socket buffers
 * are in neither.
 */
export async function measureIdle(server: ServerProcess, wire: Wire, connections: number, pool: ClientPool, settleMs: number): Promise<IdleResult> {
  const inspector = server.inspectorUrl ? await connectInspector(server.inspectorUrl) : undefined;
  const reading = async () => {
    await inspector?.collectGarbage();
    await sleep(50);
    const heap = inspector ? await inspector.heapUsage() : { used: Number.NaN, total: Number.NaN };
    return { rss: await settledRss(server.pid, 3), heap: heap.used, heapTotal: heap.total };
  };
  try {
    await pool.hold(idleTask(server, wire, Math.min(50, connections), 100), () => sleep(100));
    await sleep(200);
    const before = await reading();
    let after = before;
    const rampMs = Math.max(500, connections / 2); // about 2,000 connections a second
    const { opened, reports } = await pool.hold(idleTask(server, wire, connections, rampMs), async () => {
      await sleep(settleMs);
      after = await reading();
    });
    const count = opened.reduce((n, o) => n + o.opened, 0);
    const failed = opened.reduce((n, o) => n + o.failed, 0);
    const per = (a: number, b: number) => (count && Number.isFinite(a - b) ? Math.round((a - b) / count) : null);
    // New connections first fill heap pages that were already resident, so the RSS delta alone
    // undercounts; the V8 heap in use plus what RSS grew beyond the heap's own growth does not.
    const heapPer = per(after.heap, before.heap);
    const nativePer = per(after.rss - after.heapTotal, before.rss - before.heapTotal);
    const rssPer = per(after.rss, before.rss) ?? 0;
    return {
      kind: 'idle',
      target: server.target,
      wire,
      connections,
      opened: count,
      failed,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      bytesPerConnection: heapPer !== null && nativePer !== null ? heapPer + Math.max(0, nativePer) : rssPer,
      rssBytesPerConnection: rssPer,
      heapBytesPerConnection: heapPer,
      method: METHOD[`${server.target}/${wire}`] ?? '',
      vsBaseline: null,
      errors: [...new Set([...opened.flatMap((o) => o.errors), ...reports.flatMap((r) => r.errors)])].slice(0, 5),
    };
  } finally {
    inspector?.close();
  }
}
