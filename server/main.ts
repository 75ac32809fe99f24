import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { startServer } from './server.js';

/** The composition root: configuration → server → signals. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tokenwire: ${error.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config);
  const running = await startServer(config, { log, metrics: createMetrics({ defaults: true }) });
  log.info(
    { url: running.url, model: running.core.provider.name, defaultModel: running.core.provider.defaultModel },
    `tokenwire listening on ${running.url} (model: ${running.core.provider.name})`,
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
