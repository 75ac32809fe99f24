import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createCore, type Core, type CoreParts } from './core.js';
import type { Fleet } from './fleet.js';
import { incarnationOf, instanceIdOf } from './instance.js';
import { createRedisFleet } from './redis/redis-fleet.js';
import { createApp } from './http/app.js';
import { createClientErrorHandler } from './http/client-error.js';
import { applyConnectionTimeouts, checkingIntervalMs } from './http/connection-timeouts.js';
import { attachWsServer, type WsTransport } from './transports/ws-server.js';

export interface RunningServer {
  readonly core: Core;
  readonly server: Server;
  /** The WebSocket transport on /ws, on the same server. */
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
 * Builds the whole process (core, HTTP app, transports) and listens; used by main and by tests.
 * With REDIS_URL it first connects the Redis fleet, and throws RedisUnavailableError when Redis
 * does not answer (main exits 2).
 */
export async function startServer(config: Config, parts: CoreParts): Promise<RunningServer> {
  const instanceId = parts.instanceId ?? instanceIdOf(config);
  let fleet: Fleet | undefined = parts.fleet;
  const ownFleet = !fleet && config.REDIS_URL !== undefined;
  if (ownFleet) fleet = await createRedisFleet(config, { instanceId, incarnation: incarnationOf(instanceId) }, parts.log);
  const core = createCore(config, { ...parts, instanceId, ...(fleet ? { fleet } : {}) });
  const app = createApp(core);
  const server = createServer({ connectionsCheckingInterval: checkingIntervalMs(config) }, app);
  applyConnectionTimeouts(server, config);
  server.on('clientError', createClientErrorHandler(core.log, core.metrics));
  const ws = attachWsServer(server, core);

  await new Promise<void>((resolve, reject) => {
    const onListenError = (error: Error) => {
      if (ownFleet) void fleet?.close();
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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const until = Date.now() + deadlineMs;
      const left = () => Math.max(0, until - Date.now());
      // /readyz turns false first, so a load balancer stops sending while streams drain.
      core.drain();
      ws.stopAccepting();
      // Streams end first (server_shutdown + done reach every view), then sockets close with 1001.
      await core.shutdown(left());
      await ws.close(left());
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, left())))]);
      clearTimeout(timer);
      server.closeAllConnections();
      // Last: the streams' final frames reach Redis before the connections close.
      if (ownFleet) await fleet?.close();
    })());

  return { core, server, ws, url: `http://${host}:${port}`, port, close };
}
