import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../settings/config.js';
import type { Core, CoreParts } from '../service/core.js';
import { optionsFromEnv } from './env-options.js';
import { createApp } from './app.js';
import { createClientErrorHandler } from '../edge/client-error.js';
import { applyConnectionTimeouts, checkingIntervalMs } from './connection-timeouts.js';
import { requireHost } from '../edge/require-host.js';
import { instanceIdOf } from '../settings/instance.js';
import { createLogger } from '../observability/log.js';
import type { TokenwireOptions } from '../options.js';
import { buildTokenwire, type Tokenwire } from '../tokenwire.js';
import { refuseOtherUpgrades, WS_PATH, type WsTransport } from '../edge/ws/ws-server.js';

export interface RunningServer {
  readonly tw: Tokenwire;
  readonly core: Core;
  readonly server: Server;
  /** The WebSocket transport on /ws. */
  readonly ws: WsTransport;
  /** The base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  /**
   * Graceful stop: no new connections, every open stream ends with `server_shutdown` and its
   * `done`, upstream requests are aborted, and connections are closed within the deadline.
   */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * The standalone server, a thin user of the library: the environment's settings become
 * `createTokenwire` options (env-options.ts), and around `tw.router` and `tw.attach` it adds
 * the demo, `/healthz`, `/readyz`, `/metrics`, Node's connection timeouts and a 404 for other
 * upgrades. With REDIS_URL it first connects the Redis store, and throws RedisUnavailableError
 * when Redis does not answer (main exits 2). `parts` are tests' stand-ins for internal parts.
 */
export async function startServer(config: Config, parts: Partial<CoreParts> = {}): Promise<RunningServer> {
  const instanceId = parts.instanceId ?? instanceIdOf(config);
  const log = parts.log ?? createLogger(config, instanceId);
  const options: TokenwireOptions = { ...optionsFromEnv(config, log) };
  if (config.REDIS_URL !== undefined && !parts.fleet) {
    // Loaded only when asked for: ioredis is an optional peer of the package.
    const { redisStore } = await import('../fleet/redis/index.js');
    options.store = redisStore({ url: config.REDIS_URL });
  }
  let built: { core: Core; ws: WsTransport } | undefined;
  const tw = buildTokenwire(options, { ...parts, log, instanceId, onBuilt: (made) => (built = made) });
  try {
    await tw.ready();
  } catch (error) {
    await tw.close({ deadlineMs: 0 });
    throw error;
  }
  if (!built) throw new Error('tokenwire: the core was not built');
  const { core: ready, ws } = built;
  const app = createApp(tw, config, { log, auth: options.auth, metrics: ready.metrics });
  // Host is checked by requireHost, which answers with the JSON error body; Node's check has none.
  const server = createServer({ connectionsCheckingInterval: checkingIntervalMs(config), requireHostHeader: false }, requireHost(app, { metrics: ready.metrics, instanceId }));
  applyConnectionTimeouts(server, config);
  server.on('clientError', createClientErrorHandler(log, ready.metrics));
  tw.attach(server);
  refuseOtherUpgrades(server, WS_PATH);

  await new Promise<void>((resolve, reject) => {
    const onListenError = (error: Error) => {
      void tw.close({ deadlineMs: 0 });
      reject(error);
    };
    server.once('error', onListenError);
    // A deeper accept queue than Node's 511: when the loop stalls under a reconnect storm the
    // kernel would drop SYNs and clients wait 1, 3, 7 s to retry (bench: 808 drops -> 0).
    server.listen({ port: config.PORT, host: config.HOST, backlog: 4096 }, () => {
      server.off('error', onListenError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;

  let closing: Promise<void> | undefined;
  const close = (deadlineMs = config.SHUTDOWN_TIMEOUT_MS) =>
    (closing ??= (async () => {
      const until = Date.now() + deadlineMs;
      const left = () => Math.max(0, until - Date.now());
      // The port stays open while answers drain: /readyz answers 503 (so a balancer stops
      // sending), new chats are refused, and a client whose connection blips can still resume
      // the answer this process is finishing. It closes once tokenwire has stopped.
      await tw.close({ deadlineMs: left() });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, left())))]);
      clearTimeout(timer);
      server.closeAllConnections();
    })());

  return { tw, core: ready, ws, server, url: `http://${host}:${port}`, port, close };
}
