import { HEADERS } from '../../../shared/protocol.js';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TokenwireError } from '../../../shared/errors.js';
import { authRequestOf, type Authenticator } from '../../access/authenticator.js';
import type { StartPacer } from '../../access/start-pacer.js';
import type { Identity } from '../../access/stream-access.js';
import type { Config } from '../../settings/config.js';
import { createAddressOf } from '../client-address.js';
import { rawErrorResponse } from '../client-error.js';
import { handshakeRefusal } from './ws-handshake.js';
import { createHeartbeat } from './ws-heartbeat.js';
import { createOriginCheck } from './ws-origin.js';
import { createWsSession, type WsSession, type WsSessionDeps } from './ws-session.js';

/** The WebSocket's path under the base path: browsers open `${basePath}/ws`. */
export const WS_PATH = '/ws';

/** Anything that emits Node's `upgrade` event: `http.Server`, `https.Server`, `@hono/node-server`'s server. */
export interface UpgradeSource {
  /** Adds the listener for Node's `upgrade` event (a request with `Connection: Upgrade`, RFC 9110 §7.8). */
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  /** Removes it again (`detach()`, `tw.close()`). */
  off(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
}

/** How `attach` treats the upgrades that are not its own. */
export interface AttachOptions {
  /**
   * An upgrade on another path that no listener has answered (not a byte written) within this
   * many ms is answered 404 and closed, so it cannot hold a socket forever: Node hands upgrades
   * to `upgrade` listeners only, never to the app's request handler. `false` leaves them alone
   * (your own listener answers every upgrade). Default 1000, as engine.io's `destroyUpgradeTimeout`.
   */
  unhandledUpgradeTimeoutMs?: number | false;
}

export interface WsTransport {
  /**
   * Serves WebSocket upgrades on this transport's path on `server`; every other upgrade is left
   * to the server's other listeners, untouched. Returns a function that detaches it again.
   */
  attach(server: UpgradeSource, options?: AttachOptions): () => void;
  /** Open sessions. */
  readonly size: number;
  /** The most bytes waiting for any one peer right now (socket buffer + coalescing queue). */
  maxBufferedBytes(): number;
  /** Refuses new upgrades and new streams from here on (503 / `server_shutdown`). */
  stopAccepting(): void;
  /**
   * Closes every socket with 1001 after the frames it still has (streams should have ended
   * first: stream control's shutdown), and terminates the ones that do not close within the deadline. New
   * upgrades on its path are answered 503 `server_shutdown` until the server is detached.
   */
  close(deadlineMs: number): Promise<void>;
}

/** Answers an upgrade request with an HTTP error and closes the socket: nothing was upgraded. */
function refuseUpgrade(socket: Duplex, error: TokenwireError, headers?: Record<string, string>): void {
  socket.once('finish', () => socket.destroy());
  socket.end(rawErrorResponse(error, headers));
}

/** Answers an upgrade no listener took with 404, as a server of only tokenwire's should. */
export function refuseOtherUpgrades(server: Server, path: string): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if (pathOf(req) === path) return;
    socket.on('error', () => socket.destroy());
    refuseUpgrade(socket, new TokenwireError('not_found'));
  });
}

const DEFAULT_UNHANDLED_MS = 1_000;

/**
 * Answers 404 to an upgrade nobody took within `ms`: still open and not a byte written to it
 * (a listener that accepted it has written its 101). engine.io's destroyUpgrade does the same.
 */
function watchUnhandled(socket: Duplex, ms: number | false): void {
  if (ms === false) return;
  const timer = setTimeout(() => {
    if (socket.destroyed || !socket.writable || (socket as Socket).bytesWritten > 0) return;
    socket.on('error', () => socket.destroy());
    refuseUpgrade(socket, new TokenwireError('not_found', 'Nothing answers WebSocket upgrades on this path.'));
  }, ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The request target's path, or undefined when it is no valid URL. */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** What the WebSocket transport uses: its sessions' services, who asks, the start pacer, and its settings. */
export interface WsTransportDeps extends WsSessionDeps {
  auth: Authenticator;
  /** Upgrades take turns with chat starts in a burst. */
  startPacer: StartPacer;
  /** Named on every 101 (X-Tokenwire-Instance). */
  instanceId: string;
  config: Pick<
    Config,
    'WS_MAX_PAYLOAD' | 'HEARTBEAT_MS' | 'MAX_BUFFERED_BYTES' | 'TRUST_PROXY' | 'ALLOWED_ORIGINS' | 'PUBLIC_URL' | 'WS_HANDSHAKE_TIMEOUT_MS' | 'MAX_STREAMS_PER_SOCKET' | 'WS_MESSAGES_PER_SECOND'
  >;
}

/**
 * The WebSocket transport, attached to the app's http.Server(s): upgrades on `path` only, after
 * the Origin check (403), one session per socket, ping/pong liveness, `maxPayload` (a larger
 * message closes with 1009, RFC 6455 §7.4.1) and no permessage-deflate (CPU per token, and
 * compression of secrets next to attacker text). Other upgrades belong to the app.
 */
export function createWsTransport(deps: WsTransportDeps, options: { path: string }): WsTransport {
  const { config, log, metrics } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.WS_MAX_PAYLOAD,
    perMessageDeflate: false,
    clientTracking: false,
  });
  // Anything else `ws` refuses (a bad Sec-WebSocket-Protocol, say) gets the JSON body too:
  // with a listener here, `ws` writes nothing of its own.
  wss.on('wsClientError', (error: Error, socket: Duplex) => {
    metrics.errors.inc({ code: 'invalid_request' });
    refuseUpgrade(socket, new TokenwireError('invalid_request', `${error.message}.`));
  });
  // The 101 names the instance too, as every HTTP answer does.
  wss.on('headers', (headers: string[]) => headers.push(`${HEADERS.instance}: ${deps.instanceId}`));
  const sessions = new Map<WebSocket, WsSession>();
  const heartbeat = createHeartbeat(config.HEARTBEAT_MS);
  // Queue tokens well before the hard bound, so coalescing has room to work.
  const highWaterBytes = Math.min(64 * 1024, Math.floor(config.MAX_BUFFERED_BYTES / 4));
  let accepting = true;
  const addressOf = createAddressOf(config.TRUST_PROXY);
  const originAllowed = createOriginCheck({ allowed: config.ALLOWED_ORIGINS, publicUrl: config.PUBLIC_URL });

  const maxBufferedBytes = () => {
    let max = 0;
    for (const session of sessions.values()) max = Math.max(max, session.bufferedBytes);
    return max;
  };

  // Every metric lives in metrics.ts; open sessions are `tokenwire_connections_open{transport="ws"}`, counted in wsOnClose.
  metrics.sources.wsBufferedBytesMax = maxBufferedBytes;

  // A listener that closed over serverOnUpgrade's scope would keep the upgrade request and its
  // `head` bytes alive for the socket's life (about 1.5 KiB per idle WebSocket).
  const socketOnError = (error: Error) => log.debug({ err: error }, 'upgrade socket error');

  function serverOnUpgrade(this: UpgradeSource, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Another path is another listener's: not a byte written now; refused only if nobody answers it.
    if (pathOf(req) !== options.path) return watchUnhandled(socket, unhandledTimeouts.get(this) ?? DEFAULT_UNHANDLED_MS);
    socket.on('error', socketOnError);
    if (!accepting) return refuseUpgrade(socket, new TokenwireError('server_shutdown'));
    const refusal = handshakeRefusal(req);
    if (refusal) {
      metrics.errors.inc({ code: refusal.error.code });
      log.debug({ code: refusal.error.code, reason: refusal.error.message }, 'refused a malformed WebSocket handshake');
      return refuseUpgrade(socket, refusal.error, refusal.headers);
    }
    if (!originAllowed(req.headers.origin)) {
      log.info({ origin: req.headers.origin }, 'refused a WebSocket from a foreign origin');
      return refuseUpgrade(socket, new TokenwireError('forbidden', 'This origin may not open a WebSocket here.'));
    }
    void authenticateUpgrade(req, socket).then(async (identity) => {
      if (!identity) return;
      // A burst's upgrades take turns with running streams' tokens, as their starts do.
      const turn = deps.startPacer.turn();
      if (turn) await turn;
      if (socket.destroyed) return;
      if (!accepting) return refuseUpgrade(socket, new TokenwireError('server_shutdown'));
      wss.handleUpgrade(req, socket, head, (ws) => wssOnConnection(ws, identity));
    });
  }

  /**
   * Who opens the socket, within WS_HANDSHAKE_TIMEOUT_MS: 408 past it, 401 when
   * authentication is required and fails; undefined once the upgrade was refused.
   */
  async function authenticateUpgrade(req: IncomingMessage, socket: Duplex): Promise<Identity | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), config.WS_HANDSHAKE_TIMEOUT_MS)));
    const subject = await Promise.race([deps.auth.authenticate(authRequestOf(req)).catch(() => null), timedOut]);
    clearTimeout(timer);
    if (socket.destroyed) return undefined;
    if (subject === 'timeout') {
      refuseUpgrade(socket, new TokenwireError('request_timeout', 'The WebSocket handshake took too long.'));
      return undefined;
    }
    if (!accepting) {
      refuseUpgrade(socket, new TokenwireError('server_shutdown'));
      return undefined;
    }
    if (subject === null && deps.auth.required) {
      metrics.errors.inc({ code: 'unauthorized' });
      refuseUpgrade(socket, new TokenwireError('unauthorized', 'This WebSocket needs authentication: a valid session cookie, or a bearer token (Authorization or ?access_token=).'));
      return undefined;
    }
    return { subject: subject ?? undefined, address: addressOf(req) };
  }

  // Shared by every session and socket: an idle WebSocket holds no closures of its own here.
  const wsOnError = (error: Error) => log.debug({ err: error }, 'WebSocket error');
  const sessionOptions = {
    highWaterBytes,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    closing: () => !accepting,
    onSlowConsumer: () => metrics.slowConsumers.inc({ transport: 'ws' }),
    maxStreams: config.MAX_STREAMS_PER_SOCKET,
    messagesPerSecond: config.WS_MESSAGES_PER_SECOND,
  };
  // One listener for every socket (`this` is the socket, as EventEmitter calls it): a closed
  // socket leaves the session table, the heartbeat and the open-connections gauge.
  function wsOnClose(this: WebSocket): void {
    if (!sessions.delete(this)) return;
    heartbeat.remove(this);
    metrics.connectionsOpen.dec({ transport: 'ws' });
  }

  function wssOnConnection(ws: WebSocket, identity: Identity): void {
    // `ws` emits `error` for protocol violations (oversize → 1009, bad UTF-8 → 1007) and closes.
    ws.on('error', wsOnError);
    const session = createWsSession(ws, deps, { ...sessionOptions, identity });
    sessions.set(ws, session);
    heartbeat.add(ws);
    metrics.connectionsOpen.inc({ transport: 'ws' });
    ws.on('close', wsOnClose);
  }

  const servers = new Set<UpgradeSource>();
  const unhandledTimeouts = new WeakMap<UpgradeSource, number | false>();

  return {
    attach(server, attachOptions = {}) {
      const ms = attachOptions.unhandledUpgradeTimeoutMs ?? DEFAULT_UNHANDLED_MS;
      if (ms !== false && (!Number.isInteger(ms) || ms < 0)) throw new TypeError('attach: unhandledUpgradeTimeoutMs must be a whole number of ms, or false');
      unhandledTimeouts.set(server, ms);
      if (!servers.has(server)) {
        servers.add(server);
        server.on('upgrade', serverOnUpgrade);
      }
      return () => {
        servers.delete(server);
        server.off('upgrade', serverOnUpgrade);
      };
    },
    get size() {
      return sessions.size;
    },
    maxBufferedBytes,
    stopAccepting() {
      accepting = false;
    },
    async close(deadlineMs) {
      accepting = false;
      heartbeat.stop();
      const open = [...sessions.entries()];
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(open.map(([, session]) => session.shutdown())),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
      for (const [ws] of open) if (sessions.has(ws)) ws.terminate();
      // The upgrade listener stays until `detach()`: a closed instance answers its own path 503
      // `server_shutdown`, rather than leave the upgrade to the app's request handler (an HTML 404).
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
