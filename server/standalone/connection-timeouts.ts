import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../settings/config.js';

type TimeoutConfig = Pick<Config, 'HEADERS_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>;

/**
 * How often Node sweeps connections for the headers and request timeouts (its default, 30 s,
 * would let a timeout overrun by that much): a quarter of the shorter timeout, 50 ms to 30 s.
 */
export const checkingIntervalMs = (config: TimeoutConfig): number =>
  Math.min(30_000, Math.max(50, Math.floor(Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS) / 4)));

/**
 * The connection timeouts on an http.Server. Node's own: headers (`headersTimeout`), the
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
  // One sweep for every new connection, not a timer and a closure per socket: an
  // idle SSE or WebSocket connection holds neither. A silent socket goes between 0.9 and 1
  // times the timeout: before Node's own check answers it with a 408.
  const everyMs = Math.max(10, Math.min(1_000, Math.floor(config.HEADERS_TIMEOUT_MS / 10)));
  const silent = new Map<Socket, number>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const [socket, deadline] of silent) {
      if (socket.bytesRead > 0) silent.delete(socket);
      else if (now >= deadline) {
        silent.delete(socket);
        socket.destroy();
      }
    }
    if (silent.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  function socketOnClose(this: Socket): void {
    silent.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    silent.set(socket, performance.now() + config.HEADERS_TIMEOUT_MS - everyMs);
    socket.once('close', socketOnClose);
    if (!sweeper) {
      sweeper = setInterval(sweep, everyMs);
      sweeper.unref();
    }
  });
}
