import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ClusterWorkerRegistry } from './cluster-metrics.js';
import { runPrimary } from './cluster-primary.js';
import { ConfigError, loadConfig, type Config } from '../settings/config.js';
import { instanceIdOf } from '../settings/instance.js';
import { createLogger } from '../observability/log.js';
import { createMetrics } from '../observability/metrics.js';
import { startServer } from './server.js';

/** Exit code for a setting or a dependency that stops the server from starting (README). */
const EXIT_CONFIG = 2;

const fail = (message: string): never => {
  process.stderr.write(`tokenwire: ${message}\n`);
  process.exit(EXIT_CONFIG);
};

/** What to do about a port the server cannot listen on: a configuration error, not a crash. */
function listenProblem(error: unknown, config: Config): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${config.HOST}:${config.PORT}`;
  if (code === 'EADDRINUSE') return `port ${config.PORT} is already in use on ${config.HOST}: stop what listens there (lsof -i :${config.PORT}) or choose another, e.g. PORT=3001`;
  if (code === 'EACCES') return `may not listen on ${where} (ports below 1024 need privileges): choose a port above 1023, e.g. PORT=3000`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `HOST=${config.HOST} is neither an address nor a name this machine resolves: use 127.0.0.1, 0.0.0.0 or one of its addresses`;
  if (code === 'EADDRNOTAVAIL') return `HOST=${config.HOST} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its addresses`;
  return undefined;
}

/** The composition root: configuration → (primary with workers |) server → signals. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.message);
  }
  const workers = config.WORKERS === 'auto' ? availableParallelism() : config.WORKERS;
  if (workers > 1 && cluster.isPrimary) {
    const log = createLogger(config, `${instanceIdOf(config)}/primary`);
    // Checked once here, so a missing Redis is one clear message and exit 2, not N crashing workers.
    try {
      // Loaded only with Redis: ioredis is an optional peer of the package.
      const { connectRedis } = await import('../fleet/redis/connect.js');
      await (await connectRedis(config.REDIS_URL as string, log, 'tokenwire:primary')).close();
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    runPrimary(config, workers, log);
    return;
  }

  const instanceId = instanceIdOf(config, cluster.worker?.id);
  const log = createLogger(config, instanceId);
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    // A worker's /metrics answers for every worker (cluster-metrics.ts).
    const registry = cluster.isWorker ? new ClusterWorkerRegistry() : undefined;
    running = await startServer(config, { log, instanceId, metrics: createMetrics({ defaults: true, ...(registry ? { registry } : {}) }) });
  } catch (error) {
    if (error instanceof Error && error.name === 'RedisUnavailableError') return fail(error.message);
    const why = listenProblem(error, config);
    if (!why) throw error;
    return fail(why);
  }
  log.info(
    { url: running.url, model: running.core.provider.name, defaultModel: running.core.provider.defaultModel, store: config.REDIS_URL ? 'redis' : 'memory' },
    `tokenwire listening on ${running.url} (model: ${running.core.provider.name}, instance: ${instanceId})`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, streams: running.core.hub.active().length }, 'shutting down');
    const hard = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 2_000);
    hard.unref();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tokenwire: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
