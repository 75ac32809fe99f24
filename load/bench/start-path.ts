/**
 * The cost of a stream's start ("absorb a burst"): N streams opened at once over new
 * loopback connections against a compiled tokenwire server and the baseline, SSE/HTTP and
 * WebSocket. A start is POST /api/chat (or the WebSocket upgrade and its `start` frame) up to
 * the first token received; the streams then stay open, paced so slowly that no second token
 * comes, and stay open through the later rounds (a start must not cost more with more streams
 * open), until the server is stopped. Prints the server's CPU per start (every
 * thread's on-CPU time from /proc/<pid>/task/∗/schedstat, nanosecond resolution) from the first
 * connection of a round to its last first token, the round's TTFT p50/p99, and tokenwire ÷
 * baseline. The first round of each server is a warm-up and is not counted.
 *
 *   npx tsx load/bench/start-path.ts [--wire sse|ws|both] [--burst 1000] [--rounds 3] [--target both|tokenwire|baseline]
 *                                    [--profile <dir>]   # V8 CPU profiles (100 µs samples) of the servers
 *                                    [--source <dir>]    # compile the servers from a copy of the tree (A/B)
 *                                    [--running 100]     # streams at 30 tok/s through the rounds: their added
 *                                                        # inter-token p99 while a burst starts (wall clock: noisy)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import WebSocket from 'ws';
import { buildForBench } from './build-for-bench.js';
import { killAllNow } from './processes.js';
import { benchServerEnv, builtRunner, ROOT, startServerProcess, type ServerProcess } from './servers.js';
import type { Target } from './types.js';

const { values } = parseArgs({
  options: {
    wire: { type: 'string' },
    burst: { type: 'string' },
    rounds: { type: 'string' },
    target: { type: 'string' },
    profile: { type: 'string' },
    source: { type: 'string' },
    running: { type: 'string' },
  },
});
const wires = values.wire === 'sse' || values.wire === 'ws' ? [values.wire] : ['sse', 'ws'];
const targets: Target[] = values.target === 'tokenwire' || values.target === 'baseline' ? [values.target] : ['tokenwire', 'baseline'];
const burst = Number(values.burst ?? 1000);
const rounds = Number(values.rounds ?? 3);
/** Streams already running at 30 tokens/s through every round: their added inter-token gaps while a burst starts. */
const running = Number(values.running ?? 0);
const RUNNING_RATE = 30;
const PROMPT = 'Tell me a story about a lighthouse keeper.';
/** Far more tokens than a round lasts: the stream stays open after its first token. */
const TOKENS = 1000;

/** On-CPU nanoseconds of every thread of `pid` so far (schedstat's first field). */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}

interface Opened {
  /** Resolves with the time to first token (ms) or rejects with why there was none. */
  first: Promise<number>;
  close(): Promise<void>;
}

/** A running stream's pace, and where its tokens go (n tokens arrived in one read). */
interface Pace {
  tokensPerSecond: number;
  onTokens(n: number, now: number): void;
}

const count = (chunk: Buffer, needle: string) => {
  let n = 0;
  for (let at = chunk.indexOf(needle); at !== -1; at = chunk.indexOf(needle, at + needle.length)) n++;
  return n;
};

function openHttp(target: Target, port: number, pace?: Pace): Opened {
  const started = performance.now();
  const tokens = pace ? 1_000_000 : TOKENS;
  const body =
    target === 'tokenwire'
      ? JSON.stringify({ messages: [{ role: 'user', content: PROMPT }], options: { simulate: { tokens, ...(pace ? { tokensPerSecond: pace.tokensPerSecond } : {}) } } })
      : JSON.stringify({ prompt: PROMPT, tokens, ...(pace ? { tokensPerSecond: pace.tokensPerSecond } : {}) });
  let req!: ClientRequest;
  const first = new Promise<number>((resolve, reject) => {
    req = request(
      { host: '127.0.0.1', port, path: target === 'tokenwire' ? '/api/chat' : '/chat', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`http ${res.statusCode}`));
        }
        // tokenwire writes `retry:` and the `start` frame before the first token.
        res.on('data', (chunk: Buffer) => {
          const now = performance.now();
          const n = target === 'baseline' ? count(chunk, '\n') : count(chunk, 'event: token\n');
          if (n === 0) return;
          resolve(now - started);
          pace?.onTokens(n, now);
        });
        res.on('error', () => {});
      },
    );
    req.on('error', reject);
  });
  first.catch(() => {});
  const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
  req.end(body);
  return {
    first,
    close: () => {
      req.destroy();
      return closed;
    },
  };
}

function openWs(target: Target, port: number, pace?: Pace): Opened {
  const started = performance.now();
  const tokens = pace ? 1_000_000 : TOKENS;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, origin: `http://127.0.0.1:${port}` });
  const first = new Promise<number>((resolve, reject) => {
    socket.on('open', () => {
      socket.send(
        target === 'tokenwire'
          ? JSON.stringify({ type: 'start', id: 'c1', messages: [{ role: 'user', content: PROMPT }], options: { simulate: { tokens, ...(pace ? { tokensPerSecond: pace.tokensPerSecond } : {}) } } })
          : JSON.stringify({ prompt: PROMPT, tokens, ...(pace ? { tokensPerSecond: pace.tokensPerSecond } : {}) }),
      );
    });
    socket.on('message', (data: Buffer) => {
      if (target === 'tokenwire' && data.toString('latin1', 0, 16) !== '{"type":"token",') return;
      const now = performance.now();
      resolve(now - started);
      pace?.onTokens(1, now);
    });
    socket.on('error', reject);
    socket.on('close', (code) => reject(new Error(`closed ${code}`)));
  });
  first.catch(() => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    first,
    close: () => {
      socket.terminate();
      return closed;
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** The window over which `settle` samples the server's CPU (a measurement period, not a wait for an event). */
const SETTLE_WINDOW_MS = 100;

/** Waits until the server used less than 2 ms of CPU in 100 ms beyond its running streams': the previous round is done. */
async function settle(pid: number): Promise<void> {
  const allowance = 2e6 + running * RUNNING_RATE * 0.1 * 30e3;
  for (let i = 0; i < 50; i++) {
    const before = cpuNs(pid);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_WINDOW_MS));
    if (cpuNs(pid) - before < allowance) return;
  }
}

/** The running streams' side of a round: record their added gaps while a burst starts. */
interface RunningStreams {
  record(): void;
  /** Stops recording; the added inter-token gaps (ms) seen since `record()`. */
  stop(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * The running streams live in a worker thread of their own: opening a burst's 1,000
 * connections blocks the main thread's loop for a while, which must not count as a server's
 * delay of their tokens. Resolves once each has its first token.
 */
async function startRunning(server: ServerProcess, wire: string): Promise<RunningStreams | undefined> {
  if (running === 0) return undefined;
  const worker = new Worker(new URL(import.meta.url), { workerData: { target: server.target, wire, port: server.port, count: running } });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        resolve(message as T);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  await next('ready');
  return {
    record: () => worker.postMessage('record'),
    stop: async () => {
      worker.postMessage('stop');
      return (await next<{ gaps: number[] }>('gaps')).gaps;
    },
    close: async () => {
      const exited = once(worker, 'exit');
      worker.postMessage('close');
      await exited;
    },
  };
}

/** In the worker: `count` streams at RUNNING_RATE, their gaps recorded on request. */
function runRunningStreams(): void {
  const { target, wire, port, count: streams } = workerData as { target: Target; wire: string; port: number; count: number };
  const port_ = parentPort as MessagePort;
  const interval = 1000 / RUNNING_RATE;
  const gaps: number[] = [];
  let recording = false;
  const open = Array.from({ length: streams }, () => {
    let last = -1;
    const pace: Pace = {
      tokensPerSecond: RUNNING_RATE,
      onTokens(n, now) {
        if (recording && last >= 0) {
          gaps.push(now - last - interval);
          // The rest of a read came with the first: a gap of 0, no added latency.
          for (let i = 1; i < n; i++) gaps.push(0);
        }
        last = now;
      },
    };
    return (wire === 'ws' ? openWs : openHttp)(target, port, pace);
  });
  void Promise.all(open.map((s) => s.first)).then(() => port_.postMessage({ type: 'ready' }));
  port_.on('message', (message: string) => {
    if (message === 'record') {
      gaps.length = 0;
      recording = true;
    } else if (message === 'stop') {
      recording = false;
      port_.postMessage({ type: 'gaps', gaps });
    } else if (message === 'close') {
      void Promise.all(open.map((s) => s.close())).then(() => port_.close());
    }
  });
}

interface Round {
  usPerStart: number;
  ttftP50: number;
  ttftP99: number;
  failed: number;
  /** The running streams' added inter-token gap p99 and max while this round's burst started (ms). */
  addedP99: number;
  addedMax: number;
}

async function round(server: ServerProcess, wire: string, open: Opened[], runningStreams: RunningStreams | undefined): Promise<Round> {
  await settle(server.pid);
  runningStreams?.record();
  const cpu0 = cpuNs(server.pid);
  const openOne = wire === 'ws' ? openWs : openHttp;
  const streams: Opened[] = [];
  for (let i = 0; i < burst; i++) streams.push(openOne(server.target, server.port));
  open.push(...streams);
  const outcomes = await Promise.allSettled(streams.map((s) => s.first));
  const cpu = cpuNs(server.pid) - cpu0;
  const added = ((await runningStreams?.stop()) ?? []).sort((a, b) => a - b);
  const ttft = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])).sort((a, b) => a - b);
  return {
    usPerStart: cpu / 1e3 / burst,
    ttftP50: percentile(ttft, 50),
    ttftP99: percentile(ttft, 99),
    failed: burst - ttft.length,
    addedP99: percentile(added, 99),
    addedMax: added.at(-1) ?? Number.NaN,
  };
}

if (!isMainThread) runRunningStreams();
else {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  // `--source <dir>`: the servers compiled from a copy of the tree (an A/B of a change), as in run.ts.
  const build = await buildForBench(values.source ?? ROOT);
  const results = new Map<string, number>();
  try {
    for (const wire of wires) {
      for (const target of targets) {
        // One token now, the next in 100 s: a round measures starts, not tokens.
        const env = benchServerEnv(0.01, 0);
        const spawnedAt = performance.now();
        const server = await startServerProcess(target, {
          env,
          runner: builtRunner(build),
          ...(values.profile ? { cpuProfileDir: values.profile, cpuProfileIntervalUs: 100, label: `${target}-${wire}` } : {}),
        });
        const open: Opened[] = [];
        let runningStreams: RunningStreams | undefined;
        try {
          runningStreams = await startRunning(server, wire);
          const measured: Round[] = [];
          let from = 0;
          for (let r = 0; r <= rounds; r++) {
            if (r === 1) from = (performance.now() - spawnedAt) / 1000;
            const result = await round(server, wire, open, runningStreams);
            const line = `${target.padEnd(9)} ${wire.padEnd(3)} round ${r}${r === 0 ? ' (warm-up)' : ''}: ${result.usPerStart.toFixed(0)} µs CPU per start, TTFT p50 ${result.ttftP50.toFixed(0)} ms p99 ${result.ttftP99.toFixed(0)} ms${running ? `; running streams' added ITL p99 ${result.addedP99.toFixed(1)} ms, max ${result.addedMax.toFixed(0)} ms` : ''}${result.failed ? `, ${result.failed} failed` : ''}`;
            process.stdout.write(`${line}\n`);
            if (r > 0) measured.push(result);
          }
          results.set(`${target} ${wire}`, median(measured.map((m) => m.usPerStart)));
          if (running) results.set(`${target} ${wire} itl`, median(measured.map((m) => m.addedP99)));
          // The profile's seconds are the process's (give or take its start-up): the measured rounds, without the closes.
          if (values.profile) process.stdout.write(`  profile window: --from ${from.toFixed(1)} --to ${((performance.now() - spawnedAt) / 1000).toFixed(1)}\n`);
        } finally {
          await Promise.all(open.map((s) => s.close()));
          await runningStreams?.close();
          await server.stop();
        }
      }
      const tw = results.get(`tokenwire ${wire}`);
      const base = results.get(`baseline ${wire}`);
      if (tw !== undefined && base !== undefined) {
        process.stdout.write(`${wire}: ${burst} starts at once, median CPU per start tokenwire ${tw.toFixed(0)} µs vs baseline ${base.toFixed(0)} µs = ${(tw / base).toFixed(2)}×\n`);
        const twItl = results.get(`tokenwire ${wire} itl`);
        const baseItl = results.get(`baseline ${wire} itl`);
        if (twItl !== undefined && baseItl !== undefined) {
          process.stdout.write(`${wire}: ${running} running streams' added ITL p99 during a burst (median of rounds) tokenwire ${twItl.toFixed(1)} ms vs baseline ${baseItl.toFixed(1)} ms = ${(twItl / baseItl).toFixed(2)}×\n`);
        }
      }
    }
  } finally {
    await build.remove();
    killAllNow();
  }
}
