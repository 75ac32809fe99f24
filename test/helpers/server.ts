import type { Server } from 'node:http';
import { loadConfig } from '../../server/settings/config.js';
import type { Core, CoreParts } from '../../server/service/core.js';
import { createLogger } from '../../server/observability/log.js';
import { startServer as start } from '../../server/standalone/server.js';
import type { WsTransport } from '../../server/edge/ws/ws-server.js';

export interface TestServer {
  url: string;
  port: number;
  core: Core;
  /** The node:http server under Express and /ws (for tests that watch its events). */
  http: Server;
  /** The WebSocket transport on /ws (its `size` is the open sessions). */
  ws: WsTransport;
  close(): Promise<void>;
}

/**
 * The real app, in this process, on 127.0.0.1 and a free port. `env` takes the same variables
 * as the process (strings); always `close()` it (afterEach/afterAll).
 */
export async function startServer(env: Record<string, string> = {}, parts: Partial<CoreParts> = {}): Promise<TestServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', ...env });
  const running = await start(config, { log: createLogger(config), ...parts });
  return { url: running.url, port: running.port, core: running.core, http: running.server, ws: running.ws, close: () => running.close(1_000) };
}
