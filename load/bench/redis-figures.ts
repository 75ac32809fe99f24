// The Redis store's figures, side by side in one run (`npx tsx load/bench/redis-figures.ts [--name redis]`):
// memory store vs Redis store (server CPU per token, added inter-token p99, Redis commands per
// token from INFO commandstats), the token rate at which added inter-token p99 crosses 10 ms with
// WORKERS=1 and WORKERS=2, and cross-instance resume latency p50/p99. Real processes, a real
// redis-server on a free port, loopback only, bounded in time. Writes load/results/<name>.{md,json}.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { getSse, postSse } from '../../test/helpers/sse-client.js';
import { installCleanup, track } from './processes.js';
import { processCpuSeconds } from './proc-stats.js';
import { waitHealthy } from './servers.js';

const name = process.argv.includes('--name') ? (process.argv[process.argv.indexOf('--name') + 1] ?? 'redis') : 'redis';
installCleanup(() => {});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

async function startProc(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; pids: () => number[] }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/standalone/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', STREAM_STARTS_PER_MINUTE: '1000000', MAX_STREAMS_PER_CLIENT: '1000000', ...env },
    stdio: 'ignore',
  });
  track(child, 'server');
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(`${url}/healthz`, child, () => '', 30_000);
  // With WORKERS=2 the primary answers once one worker listens: wait for the second as well.
  const deadline = Date.now() + 30_000;
  while (env.WORKERS === '2' && (await workerPids(child.pid!)).length < 2) {
    if (Date.now() > deadline) throw new Error('the second worker did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, child, pids: () => [child.pid!] };
}

/** The pids of a primary's workers (children in /proc). */
async function workerPids(primary: number): Promise<number[]> {
  const { readFileSync } = await import('node:fs');
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const stop = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

/** Runs `streams` concurrent SSE chats of `tokens` each; returns tokens delivered and every added inter-token gap (ms). */
async function load(url: string, streams: number, tokens: number, perStreamRate: number): Promise<{ tokens: number; added: number[]; seconds: number }> {
  const nominal = 1000 / perStreamRate;
  const added: number[] = [];
  let delivered = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async () => {
      const session = await postSse(`${url}/api/chat`, { messages: [{ role: 'user', content: 'Tell me a story.' }], options: { simulate: { tokens } } });
      let last: number | undefined;
      const seen = { n: 0 };
      session.response.on('data', () => {
        const now = performance.now();
        const count = session.frames.filter((f) => f.type === 'token').length;
        if (count > seen.n) {
          if (last !== undefined && seen.n > 0) added.push(Math.max(0, now - last - nominal * (count - seen.n)));
          last = now;
          seen.n = count;
        }
      });
      const frames = await session.ended;
      delivered += frames.filter((f) => f.type === 'token').length;
    }),
  );
  return { tokens: delivered, added, seconds: (performance.now() - started) / 1000 };
}

const commandCalls = async (redis: Redis) => {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].reduce((sum, m) => (m[1] === 'info' ? sum : sum + Number(m[2])), 0);
};

async function main() {
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url);
  const results: Record<string, unknown> = {};
  const lines: string[] = [`# tokenwire: Redis store figures (${name})`, '', `Run ${new Date().toISOString()} on ${process.arch}, 2 shared cores; simulated model, SSE, loopback.`, ''];

  // A. memory vs Redis store at one load.
  const STREAMS = 100;
  const TOKENS = 150;
  const RATE = 50;
  lines.push(`## Store comparison (${STREAMS} streams × ${TOKENS} tokens at ${RATE} tokens/s each, ${STREAMS * RATE} tokens/s)`, '', '| store | server CPU µs/token | added ITL p50 ms | added ITL p99 ms | Redis commands/token | redis-server CPU µs/token |', '| --- | --- | --- | --- | --- | --- |');
  for (const store of ['memory', 'redis'] as const) {
    const server = await startProc({ SIM_TOKENS_PER_SECOND: String(RATE), ...(store === 'redis' ? { REDIS_URL: redisServer.url } : {}) });
    await load(server.url, 10, 20, RATE); // warm-up
    const redisPid = Number((await redis.info('server')).match(/process_id:(\d+)/)?.[1]);
    const cpu0 = processCpuSeconds(server.child.pid!);
    const rcpu0 = processCpuSeconds(redisPid);
    const calls0 = await commandCalls(redis);
    const run = await load(server.url, STREAMS, TOKENS, RATE);
    const cpu = processCpuSeconds(server.child.pid!) - cpu0;
    const rcpu = processCpuSeconds(redisPid) - rcpu0;
    const calls = (await commandCalls(redis)) - calls0;
    const row = {
      cpuUsPerToken: (cpu * 1e6) / run.tokens,
      addedItlP50: quantile(run.added, 0.5),
      addedItlP99: quantile(run.added, 0.99),
      redisCommandsPerToken: store === 'redis' ? calls / run.tokens : 0,
      redisCpuUsPerToken: store === 'redis' ? (rcpu * 1e6) / run.tokens : 0,
      tokens: run.tokens,
    };
    results[`store_${store}`] = row;
    lines.push(`| ${store} | ${row.cpuUsPerToken.toFixed(1)} | ${row.addedItlP50.toFixed(2)} | ${row.addedItlP99.toFixed(2)} | ${store === 'redis' ? row.redisCommandsPerToken.toFixed(2) : '–'} | ${store === 'redis' ? row.redisCpuUsPerToken.toFixed(1) : '–'} |`);
    await stop(server.child);
  }

  // B. WORKERS=1 vs 2: added inter-token p99 by total token rate; where it crosses 10 ms.
  const LEVELS = [5_000, 10_000, 20_000, 30_000];
  const SAT_STREAMS = 200;
  lines.push('', `## Saturation with Redis: WORKERS=1 vs WORKERS=2 (${SAT_STREAMS} streams, ~4 s per level)`, '', '| tokens/s asked | WORKERS=1 added ITL p99 ms | WORKERS=1 tokens/s | WORKERS=2 added ITL p99 ms | WORKERS=2 tokens/s |', '| --- | --- | --- | --- | --- |');
  const table = new Map<number, string[]>();
  const crossing: Record<string, number | string> = {};
  for (const workers of ['1', '2']) {
    let crossed: number | string = `> ${LEVELS.at(-1)}`;
    for (const level of LEVELS) {
      const rate = level / SAT_STREAMS;
      const server = await startProc({ SIM_TOKENS_PER_SECOND: String(rate), REDIS_URL: redisServer.url, WORKERS: workers });
      const run = await load(server.url, SAT_STREAMS, Math.round(rate * 4), rate);
      const p99 = quantile(run.added, 0.99);
      const cells = table.get(level) ?? [];
      cells.push(p99.toFixed(1), (run.tokens / run.seconds).toFixed(0));
      table.set(level, cells);
      if (typeof crossed === 'string' && p99 > 10) crossed = level;
      await stop(server.child);
    }
    crossing[`workers_${workers}`] = crossed;
  }
  for (const [level, cells] of table) lines.push(`| ${level} | ${cells.join(' | ')} |`);
  lines.push('', `Added inter-token p99 crosses 10 ms at: WORKERS=1 ${crossing.workers_1} tokens/s, WORKERS=2 ${crossing.workers_2} tokens/s (the client runs on the same 2 cores).`);
  results.saturation = Object.fromEntries([...table].map(([k, v]) => [k, v]));
  results.crossing = crossing;

  // C. Cross-instance resume latency: new connection → first replayed frame, on the owner and on the other instance.
  const a = await startProc({ SIM_TOKENS_PER_SECOND: '100', REDIS_URL: redisServer.url, INSTANCE_ID: 'a' });
  const b = await startProc({ SIM_TOKENS_PER_SECOND: '100', REDIS_URL: redisServer.url, INSTANCE_ID: 'b' });
  const samples: Record<'same' | 'cross', number[]> = { same: [], cross: [] };
  for (let i = 0; i < 30; i++) {
    const first = await postSse(`${a.url}/api/chat`, { messages: [{ role: 'user', content: 'Tell me a story.' }], options: { simulate: { tokens: 2_000 }, resumeGraceMs: 30_000 } });
    await first.waitForFrame((f) => f.seq >= 5);
    const start = first.frames[0] as { streamId: string; streamToken: string };
    for (const [kind, base] of [['same', a.url], ['cross', b.url]] as const) {
      const t0 = performance.now();
      const again = await getSse(`${base}/api/streams/${start.streamId}?token=${start.streamToken}`, { 'last-event-id': '2' });
      await again.waitForFrame(() => true);
      samples[kind].push(performance.now() - t0);
      again.disconnect();
    }
    await fetch(`${a.url}/api/streams/${start.streamId}`, { method: 'DELETE', headers: { 'x-stream-token': start.streamToken } });
    first.disconnect();
  }
  await Promise.all([stop(a.child), stop(b.child)]);
  results.resume = { sameP50: quantile(samples.same, 0.5), sameP99: quantile(samples.same, 0.99), crossP50: quantile(samples.cross, 0.5), crossP99: quantile(samples.cross, 0.99) };
  lines.push('', '## Resume latency (new connection → first replayed frame, 30 samples)', '', '| resumed on | p50 ms | p99 ms |', '| --- | --- | --- |');
  lines.push(`| the owner (a) | ${quantile(samples.same, 0.5).toFixed(2)} | ${quantile(samples.same, 0.99).toFixed(2)} |`);
  lines.push(`| the other instance (b) | ${quantile(samples.cross, 0.5).toFixed(2)} | ${quantile(samples.cross, 0.99).toFixed(2)} |`);

  redis.disconnect();
  await redisServer.stop();
  writeFileSync(`load/results/${name}.md`, `${lines.join('\n')}\n`);
  writeFileSync(`load/results/${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`redis-figures: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
