import type { Server } from 'node:http';
import type { Config } from '../config.js';

type TimeoutConfig = Pick<Config, 'HEADERS_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>;

/**
 * How often Node sweeps connections for the headers and request timeouts (its default, 30 s,
 * would let a timeout overrun by that much): a quarter of the shorter timeout, 50 ms to 30 s.
 */
export const checkingIntervalMs = (config: TimeoutConfig): number =>
  Math.min(30_000, Math.max(50, Math.floor(Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS) / 4)));

/**
 * The timeouts of issue 12 on an http.Server. Node's own: headers (`headersTimeout`), the
 * whole request with its body (`requestTimeout`, 408 through `clientError`), idle keep-alive
 * (`keepAliveTimeout`). Node stops counting once a request is fully received, so SSE
 * responses run on (heartbeats and the resume window govern them). Node starts the headers
 * clock at a request's first byte, so a connection that sends nothing is closed here after
 * the same time.
 */
export function applyConnectionTimeouts(server: Server, config: TimeoutConfig): void {
  server.headersTimeout = config.HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = config.KEEP_ALIVE_TIMEOUT_MS;
  server.on('connection', (socket) => {
    const silent = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, config.HEADERS_TIMEOUT_MS);
    silent.unref();
    socket.once('close', () => clearTimeout(silent));
  });
}
