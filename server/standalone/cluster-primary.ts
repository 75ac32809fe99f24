import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from './cluster-metrics.js';
import type { Config } from '../settings/config.js';
import type { Logger } from '../observability/log.js';

/** A worker that dies sooner than this after its start is restarted only after a pause, so a crash loop does not spin. */
const QUICK_DEATH_MS = 5_000;
/** The exit code for a setting or a dependency that keeps the server from running (README), as main.ts's. */
const EXIT_CANNOT_RUN = 2;

/**
 * The primary of `WORKERS=N`: forks N workers that share the port (node:cluster),
 * restarts one that dies, restarts them one by one on SIGHUP (each new one listening before the
 * old one drains), and on SIGTERM/SIGINT lets every worker drain and exits when all have.
 * The workers share streams through Redis, so a stream outlives the worker that started it
 * as far as a client can resume it. Workers that keep dying within QUICK_DEATH_MS of their
 * start (2 × N in a row, none up longer meanwhile) stop it with exit 2: restarting them cannot
 * help. A scrape of /metrics on any worker gets every worker's metrics (cluster-metrics.ts).
 */
export function runPrimary(config: Config, workers: number, log: Logger): void {
  let stopping = false;
  const startedAt = new Map<Worker, number>();
  /** Quick deaths one after another while no worker stayed up past QUICK_DEATH_MS. */
  let quickDeaths = 0;
  const giveUpAfter = 2 * workers;
  serveClusterMetrics();

  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (startedAt.size === 0) process.exit(0);
      return;
    }
    if (worker.exitedAfterDisconnect) return;
    const quick = lived < QUICK_DEATH_MS;
    // One worker that stays up shows the fleet can run: the count starts over.
    const steady = [...startedAt.values()].some((at) => Date.now() - at >= QUICK_DEATH_MS);
    quickDeaths = quick && !steady ? quickDeaths + 1 : 0;
    if (quickDeaths >= giveUpAfter) return giveUp({ code, signal });
    log.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker died; starting another');
    // Not unref'd: with every worker dead, this timer is what keeps the primary to restart one.
    setTimeout(fork, quick ? 1_000 : 0);
  });

  function giveUp(last: { code: number | null; signal: string | null }): void {
    stopping = true;
    const why = `workers keep dying: ${quickDeaths} in a row within ${QUICK_DEATH_MS / 1000} s of starting (the last with ${last.signal ? `signal ${last.signal}` : `exit code ${last.code}`}); the log of a worker says why. Stopping (exit ${EXIT_CANNOT_RUN}).`;
    log.error({ deaths: quickDeaths, workers, ...last }, why);
    process.stderr.write(`tokenwire: ${why}\n`);
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
    process.exit(EXIT_CANNOT_RUN);
  }

  const waitFor = (worker: Worker, event: 'listening' | 'exit') => new Promise<void>((resolve) => worker.once(event, () => resolve()));

  /** One worker at a time: the new one listens before the old one drains, so the port never goes unserved. */
  async function rollingRestart(): Promise<void> {
    for (const old of [...startedAt.keys()]) {
      if (stopping) return;
      const next = fork();
      await waitFor(next, 'listening');
      const exited = waitFor(old, 'exit');
      old.disconnect();
      old.process.kill('SIGTERM');
      await exited;
    }
    log.info({ workers: startedAt.size }, 'rolling restart done');
  }

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: startedAt.size }, 'stopping workers');
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
    const hard = setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 5_000);
    hard.unref();
    if (startedAt.size === 0) process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    log.info('SIGHUP: restarting workers one by one');
    rollingRestart().catch((error: unknown) => log.error({ err: error }, 'rolling restart failed'));
  });

  for (let i = 0; i < workers; i++) fork();
  log.info({ workers, port: config.PORT }, `tokenwire primary: ${workers} workers on port ${config.PORT}`);
}
