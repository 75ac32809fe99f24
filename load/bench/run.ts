/**
 * The bench's entry point: `npm run bench` / `npm run bench:quick` (flags: --help).
 *
 * Compiles the tree (or uses tsx: --runner), starts tokenwire and the baseline as their own
 * processes on 127.0.0.1 and the client workers that generate the load, runs every phase, and
 * writes load/results/<name>.json, .md and .svg. Every spawned process is killed at the end, on
 * an error and on Ctrl-C. README.md beside this file explains the method and the schema.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { buildForBench, type BenchBuild } from './build-for-bench.js';
import { startClientPool, type ClientPool } from './client-pool.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { hasWebSocket } from './frame-clients.js';
import { measureIdle } from './measure-idle.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { probeApprovals, probeDisconnects, probeResumes } from './probes.js';
import { installCleanup, killAllNow } from './processes.js';
import { machineInfo } from './proc-stats.js';
import { benchServerEnv, builtRunner, ROOT, startServerProcess, tsxRunner, type Runner, type ServerProcess } from './servers.js';
import { runStreamPhase } from './stream-phase.js';
import { runSaturation, SATURATION_P99_MS } from './saturation.js';
import { BASELINE_OF, type IdleResult, type ProbeResult, type SaturationResult, type StreamResult, type Target } from './types.js';
import { assembleResults, writeResults } from './write-results.js';

const PROMPT = 'Tell me a story.';
const n = (v: number, digits = 1) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The environment every server under test gets; `--server-env` overrides it. */
const serverEnv = (options: BenchOptions, rate: number, firstTokenMs: number): Record<string, string> => ({
  ...benchServerEnv(rate, firstTokenMs),
  ...options.serverEnv,
});

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    say(USAGE);
    return;
  }
  const options = parsed;
  installCleanup((signal) => say(`\nbench: ${signal}: stopping the servers and clients`));
  const began = Date.now();
  const machine = machineInfo();
  const outDir = resolve(ROOT, options.outDir);
  await mkdir(outDir, { recursive: true });
  const profileDir = options.profile ? join(outDir, 'profiles') : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });

  say(`tokenwire bench "${options.name}"${options.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, load average ${machine.loadAverageAtStart.join(' ')}`);
  say(`  levels ${options.levels.join(', ')} × ${options.rate} tok/s · throughput ${options.throughput.map((t) => `${t.streams}×${t.rate}`).join(', ') || 'none'} · idle ${options.idleConnections} · transports ${options.transports.join(',')} · ${options.workers} client workers${options.baseline ? '' : ' · no baseline'}`);

  const warnings: string[] = [];
  const streams: StreamResult[] = [];
  const idle: IdleResult[] = [];
  const probes: ProbeResult[] = [];
  const saturation: SaturationResult[] = [];
  let wires = [...options.transports];
  let pool: ClientPool | undefined;
  let upstream: FakeUpstream | undefined;
  const running: ServerProcess[] = [];
  let build: BenchBuild | undefined;
  let runner: Runner = tsxRunner;
  const start = async (target: Target, env: Record<string, string>, role: string, inspect = false) => {
    const server = await startServerProcess(target, { env, runner, cpuProfileDir: inspect ? undefined : profileDir, inspect, label: `${target}-${role}` });
    running.push(server);
    return server;
  };
  const stop = async (...servers: (ServerProcess | undefined)[]) => {
    await Promise.all(servers.map((s) => s?.stop()));
  };

  try {
    // Everything is started up front, in parallel, so no phase pays for (or is disturbed by) a
    // start-up; a server that waits for its phase uses no CPU.
    if (options.runner === 'built') {
      build = await buildForBench(options.source ? resolve(options.source) : ROOT);
      runner = builtRunner(build);
    }
    say(`starting servers and client workers (${runner.name === 'built' ? `compiled to ${build?.dir}` : 'node --import tsx'})…`);
    upstream = options.disconnects > 0 ? await startFakeUpstream(1000 / options.rate) : undefined;
    const idleWires = options.idleConnections > 0 ? wires : [];
    const sat = options.saturationRate;
    const [lat, thr, idleServers, abortServer, startedPool, satServers] = await Promise.all([
      Promise.all([start('tokenwire', serverEnv(options, options.rate, 0), 'latency'), options.baseline ? start('baseline', serverEnv(options, options.rate, 0), 'latency') : undefined]),
      Promise.all(
        options.throughput.map((level) =>
          Promise.all([
            start('tokenwire', serverEnv(options, level.rate, 0), `throughput-${level.rate}`),
            options.baseline ? start('baseline', serverEnv(options, level.rate, 0), `throughput-${level.rate}`) : undefined,
          ]),
        ),
      ),
      Promise.all(
        idleWires.flatMap((wire) => [
          start('tokenwire', serverEnv(options, options.rate, 60_000), 'idle', true).then((s) => [s, wire] as const),
          ...(options.baseline ? [start('baseline', serverEnv(options, options.rate, 60_000), 'idle', true).then((s) => [s, BASELINE_OF[wire]] as const)] : []),
        ]),
      ),
      upstream
        ? start('tokenwire', { ...serverEnv(options, options.rate, 0), MODEL_PROVIDER: 'openai', OPENAI_API_KEY: 'bench-not-a-key', OPENAI_BASE_URL: upstream.baseURL, UPSTREAM_MAX_RETRIES: '0' }, 'disconnect')
        : undefined,
      startClientPool(options.workers, runner),
      sat === undefined
        ? undefined
        : Promise.all([start('tokenwire', serverEnv(options, sat, 0), 'saturation'), options.baseline ? start('baseline', serverEnv(options, sat, 0), 'saturation') : undefined]),
    ]);
    pool = startedPool;
    say(`  ${running.length} servers up (pids ${running.map((s) => `${s.target}:${s.pid}`).join(', ')}); client workers pids ${pool.pids.join(', ')}`);

    if (wires.includes('ws')) {
      const ws = await hasWebSocket(lat[0].port);
      if (!ws.ok) {
        warnings.push(`tokenwire has no WebSocket transport on /ws (${ws.reason}): ws rows skipped`);
        say(`  ⚠ tokenwire /ws not available (${ws.reason}); running sse only`);
        wires = wires.filter((w) => w !== 'ws');
      }
    }

    const keepProbes = (results: ProbeResult[]) => {
      for (const r of results) {
        probes.push(r);
        say(`    ${r.wire} ${r.variant}: p50 ${n(r.ms.p50, 2)} ms, p99 ${n(r.ms.p99, 2)} ms (${r.samples} samples, ${r.failures} failed${r.errors[0] ? `: ${r.errors[0]}` : ''})`);
      }
    };
    const phases: [string, () => Promise<void>][] = [
      [
        `latency: ${options.levels.join(' → ')} streams × ${options.rate} tok/s`,
        async () => {
          if (options.levels.length === 0) return;
          await runStreamPhase('latency', { tokenwire: lat[0], baseline: lat[1] }, wires, options.levels.map((s) => ({ streams: s, rate: options.rate, holdMs: options.holdMs })), options, pool as ClientPool, streams, PROMPT);
        },
      ],
      [
        `burst: ${options.burst.join(', ') || 'none'} streams opened at once × ${options.rate} tok/s`,
        async () => {
          if (options.burst.length === 0) return;
          const levels = options.burst.map((s) => ({ streams: s, rate: options.rate, holdMs: options.burstHoldMs, rampMs: 0 }));
          await runStreamPhase('burst', { tokenwire: lat[0], baseline: lat[1] }, wires, levels, options, pool as ClientPool, streams, PROMPT, { warmUp: false });
        },
      ],
      [
        'approval round trip (tokenwire)',
        async () => {
          if (options.approvals === 0) return;
          keepProbes(await probeApprovals(lat[0].port, wires, options.approvals));
        },
      ],
      [
        'resume latency (tokenwire)',
        async () => {
          if (options.approvals === 0) return;
          keepProbes(await probeResumes(lat[0].port, wires, options.approvals));
        },
      ],
      ...options.throughput.map((level, i): [string, () => Promise<void>] => [
        `throughput: ${level.streams} streams × ${level.rate} tok/s`,
        async () => {
          await stop(...lat);
          const servers = thr[i];
          if (!servers) return;
          await runStreamPhase('throughput', { tokenwire: servers[0], baseline: servers[1] }, wires, [level], options, pool as ClientPool, streams, PROMPT);
          await stop(...servers);
        },
      ]),
      [
        `saturation search: streams × ${sat ?? '-'} tok/s until added inter-token p99 > ${SATURATION_P99_MS} ms`,
        async () => {
          if (!satServers || sat === undefined) return;
          const spec = { ratePerStream: sat, fromStreams: Math.max(1, Math.round(30_000 / sat)), growth: 1.5, maxStreams: 12_000, bisections: 2, holdMs: options.saturationHoldMs, prompt: PROMPT };
          saturation.push(...(await runSaturation({ tokenwire: satServers[0], baseline: satServers[1] }, wires, spec, pool as ClientPool, streams)));
          for (const r of saturation) say(`    ${r.target.padEnd(9)} ${r.wire.padEnd(4)} saturates at ${n(r.tokensPerSecond, 0)} tok/s${r.vsBaseline ? ` (${n(r.vsBaseline, 2)}× base)` : ''}`);
          await stop(...satServers);
        },
      ],
      [
        `idle memory: ${options.idleConnections} connections per server (fresh servers)`,
        async () => {
          for (const [server, wire] of idleServers) {
            if (server.target === 'tokenwire' && !wires.includes(wire as 'sse' | 'ws')) continue;
            const result = await measureIdle(server, wire, options.idleConnections, pool as ClientPool, options.idleSettleMs);
            idle.push(result);
            const heap = result.heapBytesPerConnection === null ? '' : ` (V8 heap ${n(result.heapBytesPerConnection / 1024)} KiB)`;
            say(`    ${server.target.padEnd(9)} ${wire.padEnd(4)} ${n(result.bytesPerConnection / 1024)} KiB per connection${heap} · ${result.opened} open, ${result.failed} failed · RSS ${n(result.rssBeforeBytes / 2 ** 20)} → ${n(result.rssAfterBytes / 2 ** 20)} MiB, ${n(result.rssBytesPerConnection / 1024)} KiB each`);
            await stop(server);
          }
        },
      ],
      [
        'disconnect → upstream abort (tokenwire with the openai provider against a loopback upstream)',
        async () => {
          if (!abortServer || !upstream) return;
          keepProbes(await probeDisconnects(abortServer.port, upstream, wires, options.disconnects));
          await stop(abortServer);
        },
      ],
    ];
    for (const [title, run] of phases) {
      say(`${title}  (+${n((Date.now() - began) / 1000, 0)} s)`);
      try {
        await run();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        warnings.push(`phase "${title}" failed: ${message}`);
        say(`  ✗ ${message}`);
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    warnings.push(`bench aborted: ${message}`);
    say(`✗ ${message}`);
    process.exitCode = 1;
  } finally {
    await Promise.all(running.map((s) => s.stop(3_000)));
    await pool?.close();
    await upstream?.close();
    killAllNow();
    await build?.remove();
  }

  const results = assembleResults({ options, machine, streams, idle, probes, saturation, wires, warnings, began, serverEnv: serverEnv(options, options.rate, 0), prompt: PROMPT });
  const base = join(outDir, options.name);
  await writeResults(base, results);
  say('targets:');
  for (const t of results.targets) say(`  ${t.met === null ? '–' : t.met ? '✓' : '✗'} ${t.target}: ${t.measured}`);
  for (const w of results.warnings) say(`⚠ ${w}`);
  say(`wrote ${relative(ROOT, base)}.json, .md, .svg in ${n((Date.now() - began) / 1000, 0)} s`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killAllNow();
  process.exit(1);
});
