import { parseArgs } from 'node:util';

/** What one bench run does; built from the command line (`--help` lists the flags). */
export interface BenchOptions {
  name: string;
  quick: boolean;
  /** Concurrent streams per latency level, at `rate` tokens/s each. */
  levels: number[];
  rate: number;
  transports: ('sse' | 'ws')[];
  holdMs: number;
  /** Streams started per second during a level's ramp. */
  rampPerSecond: number;
  /** Throughput levels: `streams` at `rate` tokens/s each, all on one server process per rate. */
  throughput: { streams: number; rate: number; holdMs: number }[];
  /** Burst levels: this many streams opened at once at `rate`, on the latency server. */
  burst: number[];
  burstHoldMs: number;
  /** The saturation search's tokens/s per stream; undefined: no search. */
  saturationRate: number | undefined;
  saturationHoldMs: number;
  idleConnections: number;
  idleSettleMs: number;
  approvals: number;
  disconnects: number;
  workers: number;
  baseline: boolean;
  profile: boolean;
  pauseMs: number;
  outDir: string;
  /** Extra server environment (KEY=VALUE), applied to tokenwire and the baseline. */
  serverEnv: Record<string, string>;
  /** built: compile to JavaScript first (what `npm start` runs); tsx: node --import tsx. */
  runner: 'built' | 'tsx';
  /** Compile the servers from this source tree (a patched copy: an A/B run) instead of the repository. */
  source: string | undefined;
}

export const USAGE = `tokenwire bench: SSE and WebSocket against a plain-Express baseline, on loopback.

  npm run bench                 full run (about 8 minutes on 2 cores)
  npm run bench:quick           quick run (under 60 s)
  npm run bench -- [flags]

  --quick                 small levels and short holds (ends within 60 s)
  --name <name>           results file name: load/results/<name>.json|.md|.svg (default: quick | full)
  --levels <n,n,…|none>   concurrent streams per latency level (default 100,1000,2000,5000; quick 200);
                          none: no latency levels (e.g. only the idle memory figure)
  --rate <tokens/s>       tokens per second per stream in latency levels (default 30)
  --transports <sse,ws>   tokenwire transports to run (default sse,ws)
  --hold <s>              seconds all streams of a latency level run at once (default 8; quick 2)
  --ramp-rate <n/s>       streams started per second while ramping (default 1000)
  --throughput <NxR,…|none>  throughput levels: N streams at R tokens/s each
                          (default 1000x200,100x2000; quick 300x200)
  --burst <n,n,…|none>    burst levels: N streams opened at once at --rate, after the latency
                          levels on the same servers (default 1000,2000; quick none)
  --saturation <R|none>   the saturation search: streams × R tok/s growing until added
                          inter-token p99 crosses 10 ms, per transport, tokenwire and baseline in
                          lockstep (default 100; quick none)
  --idle <n|0>            idle connections for the memory figure (default 5000; quick 500)
  --approvals <n|0>       approval round trips and resume-latency samples per transport (default 30; quick 5)
  --disconnects <n|0>     disconnect → upstream-abort samples per variant (default 30; quick 5)
  --workers <n>           client processes generating load (default 2)
  --no-baseline           skip the baseline server (no ratios)
  --profile               write V8 CPU profiles of the servers to load/results/profiles/
  --server-env K=V,…      extra environment for the servers (e.g. STREAM_TTL_MS=300000)
  --runner <built|tsx>    built (default): transpile to JavaScript first, as npm start runs;
                          tsx: node --import tsx (adds esbuild's keepNames cost: README)
  --source <dir>          built runner: compile shared/, server/ and load/bench/ from this
                          copy of the tree instead (A/B-test a server change; needs node_modules)
  --out <dir>             output directory (default load/results; quick: load/results/local, ignored by git)
  --help
`;

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

function positiveInt(name: string, text: string, min = 0): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number ≥ ${min}, not "${text}"`);
  return value;
}

/** Parses argv; throws with a message that names the bad flag. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      name: { type: 'string' },
      levels: { type: 'string' },
      rate: { type: 'string' },
      transports: { type: 'string' },
      hold: { type: 'string' },
      'ramp-rate': { type: 'string' },
      throughput: { type: 'string' },
      burst: { type: 'string' },
      saturation: { type: 'string' },
      idle: { type: 'string' },
      approvals: { type: 'string' },
      disconnects: { type: 'string' },
      workers: { type: 'string' },
      'no-baseline': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'server-env': { type: 'string' },
      out: { type: 'string' },
      runner: { type: 'string' },
      source: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;

  const levels = values.levels === 'none' ? [] : values.levels ? list(values.levels).map((v) => positiveInt('levels', v, 1)) : quick ? [200] : [100, 1000, 2000, 5000];
  const transports = values.transports ? list(values.transports) : ['sse', 'ws'];
  for (const t of transports) if (t !== 'sse' && t !== 'ws') throw new Error(`--transports takes sse and/or ws, not "${t}"`);
  const holdS = values.hold ? Number(values.hold) : quick ? 2 : 8;
  if (!(holdS >= 1 && holdS <= 300)) throw new Error('--hold must be between 1 and 300 seconds');

  const throughputHoldMs = quick ? 1_000 : 6_000;
  const throughputText = values.throughput ?? (quick ? '300x200' : '1000x200,100x2000');
  const throughput: BenchOptions['throughput'] = [];
  if (throughputText !== 'none') {
    for (const part of list(throughputText)) {
      const match = /^(\d+)x(\d+(?:\.\d+)?)$/.exec(part);
      if (!match) throw new Error('--throughput takes NxR[,NxR…], e.g. 1000x200, or none');
      throughput.push({ streams: positiveInt('throughput', match[1] ?? '', 1), rate: Number(match[2]), holdMs: throughputHoldMs });
    }
  }
  const burstText = values.burst ?? (quick ? 'none' : '1000,2000');
  const burst = burstText === 'none' ? [] : list(burstText).map((v) => positiveInt('burst', v, 1));
  const saturationText = values.saturation ?? (quick ? 'none' : '100');
  const saturationRate = saturationText === 'none' ? undefined : Number(saturationText);
  if (saturationRate !== undefined && !(saturationRate > 0 && saturationRate <= 10_000)) throw new Error('--saturation takes tokens/s per stream (0 < R ≤ 10000) or none');
  const serverEnv: Record<string, string> = {};
  for (const pair of list(values['server-env'] ?? '')) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--server-env takes KEY=VALUE pairs, not "${pair}"`);
    serverEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const rate = values.rate ? Number(values.rate) : 30;
  if (!(rate > 0 && rate <= 10_000)) throw new Error('--rate must be between 0 and 10000 tokens/s');
  const total = Math.max(...levels, ...burst, ...throughput.map((t) => t.streams), values.idle ? Number(values.idle) : 0);
  // Each stream is one socket in the server; the client processes share theirs.
  if (total > 15_000) throw new Error(`${total} connections is too many for ulimit -n 20000 in one server process; stay at 15,000 or below`);

  const runner = values.runner ?? 'built';
  if (runner !== 'built' && runner !== 'tsx') throw new Error(`--runner takes built or tsx, not "${runner}"`);
  if (values.source && runner !== 'built') throw new Error('--source needs the built runner');
  const name = values.name ?? (quick ? 'quick' : 'full');
  if (!/^[\w.-]{1,80}$/.test(name)) throw new Error('--name takes letters, digits, ".", "_" and "-" only');

  return {
    name,
    quick,
    levels,
    rate,
    transports: transports as ('sse' | 'ws')[],
    holdMs: holdS * 1000,
    rampPerSecond: values['ramp-rate'] ? positiveInt('ramp-rate', values['ramp-rate'], 1) : 1000,
    throughput,
    burst,
    burstHoldMs: quick ? 1_000 : 4_000,
    saturationRate,
    saturationHoldMs: quick ? 1_000 : 3_000,
    idleConnections: values.idle !== undefined ? positiveInt('idle', values.idle) : quick ? 500 : 5000,
    idleSettleMs: quick ? 400 : 2_000,
    approvals: values.approvals !== undefined ? positiveInt('approvals', values.approvals) : quick ? 5 : 30,
    disconnects: values.disconnects !== undefined ? positiveInt('disconnects', values.disconnects) : quick ? 5 : 30,
    workers: values.workers ? positiveInt('workers', values.workers, 1) : 2,
    baseline: !values['no-baseline'],
    profile: values.profile ?? false,
    pauseMs: quick ? 200 : 1_000,
    // A quick run is for the person running it: into an ignored folder, never over the tracked results.
    outDir: values.out ?? (quick ? 'load/results/local' : 'load/results'),
    serverEnv,
    runner,
    source: values.source,
  };
}
