import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { TokenwireError } from '../shared/errors.js';
import { createFetchHandler } from './edge/web/fetch-handler.js';
import { noAuthentication } from './access/authenticator.js';
import { createCore, type Core, type CoreParts } from './service/core.js';
import type { Fleet } from './fleet/fleet.js';
import { createRouter } from './edge/express/router.js';
import { errorHeaders, errorResponse } from './edge/http-errors.js';
import { createInterop } from './edge/interop/interop.js';
import { incarnationOf, instanceIdOf } from './settings/instance.js';
import { createLogger, type Logger } from './observability/log.js';
import { createMetrics } from './observability/metrics.js';
import { simulatedModel } from './models/factories.js';
import { resolveOptions, type TokenwireOptions } from './options.js';
import { openerOf } from './fleet/store-option.js';
import { createToolRegistry } from './tools/registry.js';
import { createWsTransport, WS_PATH, type AttachOptions, type UpgradeSource, type WsTransport } from './edge/ws/ws-server.js';

/**
 * Express/Connect middleware: `(req, res, next)`. It answers tokenwire's routes under the
 * base path and calls `next()` for everything else.
 */
export type TokenwireRouter = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** What `tw.health()` says: enough for the app's own `/healthz` and `/readyz`. */
export interface TokenwireHealth {
  /** False once `close()` began (answer 503 on readiness then) or while the store is unreachable. */
  ready: boolean;
  /** This instance's name. */
  instance: string;
  /** Streams generating here now. */
  streams: number;
  /** `memory`, `redis`, or `redis_unavailable` while Redis does not answer (or has not yet). */
  store: 'memory' | 'redis' | 'redis_unavailable';
  /** True from `close()` on. */
  draining: boolean;
}

/** A tokenwire instance: mount its router or fetch handler, attach its WebSocket, expose its metrics. */
export interface Tokenwire {
  /** Express/Connect middleware for every HTTP route; `app.use(tw.router)`. */
  readonly router: TokenwireRouter;
  /** The same routes as a WHATWG `Request → Response` handler (Hono, Next.js route handlers, Bun, Deno). */
  fetch(request: Request): Promise<Response>;
  /**
   * Serves WebSocket upgrades on `${basePath}/ws` (`tw.wsPath`) of a Node HTTP server (RFC 6455);
   * upgrades on other paths are left to the server's other listeners, and one that nobody
   * answers within `options.unhandledUpgradeTimeoutMs` (default 1000) is refused with 404, so
   * it cannot hold a socket forever. If your own upgrade listener destroys unknown paths, let it
   * skip `tw.wsPath`: tokenwire authenticates before it answers. Returns a function that detaches it.
   */
  attach(server: UpgradeSource, options?: AttachOptions): () => void;
  /** The path tokenwire's WebSocket answers on: `${basePath}/ws`. */
  readonly wsPath: string;
  /** The Prometheus registry with every tokenwire metric, for the app to expose where it wants. */
  readonly metrics: Registry;
  /** Health and readiness, for the app's own probes. */
  health(): TokenwireHealth;
  /**
   * Resolves once the store is connected (at once for the memory store). Rejects with
   * `RedisUnavailableError` when Redis does not answer; requests meanwhile get 503 `store_unavailable`.
   */
  ready(): Promise<void>;
  /**
   * Graceful stop, in order: refuse new streams and upgrades (readiness false at once), let
   * running generations finish (a drain, for all but the last fifth of the deadline, at most
   * 2 s; their `onFinish` and `onError` hooks included, so a billing write is not lost), end what is left with `server_shutdown` (its `done` reaches every view), close the
   * sockets with 1001, then close the store. Waits at most `deadlineMs` (default `timeouts.shutdownMs`). Never closes the app's
   * HTTP server; upgrades on `wsPath` are answered 503 `server_shutdown` from then on, until detached.
   */
  close(options?: { deadlineMs?: number }): Promise<void>;
}

/** What the standalone server and tests may inject beyond the public options. */
export type TokenwireInternals = Partial<CoreParts> & {
  /** Called with the core and the WebSocket transport once they exist (the standalone server and tests read them). */
  onBuilt?: (built: { core: Core; ws: WsTransport }) => void;
};

/**
 * Creates a tokenwire instance from one options object (see `TokenwireOptions`), validated
 * here: a bad or unknown option throws a `TypeError` naming it. Never reads `process.env`.
 */
export function createTokenwire(options: TokenwireOptions = {}): Tokenwire {
  return buildTokenwire(options, {});
}

/** `createTokenwire` with internal parts; not part of the package's API. */
export function buildTokenwire(options: TokenwireOptions, internals: TokenwireInternals): Tokenwire {
  const resolved = resolveOptions(options);
  const { config, basePath } = resolved;
  const instanceId = internals.instanceId ?? instanceIdOf(config);
  const log: Logger = internals.log ?? resolved.logger ?? createLogger({ LOG_LEVEL: 'info' }, instanceId);
  const metrics = internals.metrics ?? createMetrics({ defaults: resolved.processMetrics });
  const { onBuilt: _onBuilt, ...injected } = internals;
  const parts: CoreParts = {
    provider: resolved.model ?? simulatedModel(),
    tools: createToolRegistry([...resolved.tools]),
    authenticator: resolved.auth ?? noAuthentication,
    hooks: resolved.hooks,
    ...injected,
    log,
    metrics,
    instanceId,
  };

  let core: Core | undefined;
  let router: TokenwireRouter | undefined;
  let fetchHandler: ((request: Request) => Promise<Response>) | undefined;
  let ws: WsTransport | undefined;
  let failure: unknown;
  const pendingAttach = new Map<UpgradeSource, AttachOptions | undefined>();
  const detachers = new Map<UpgradeSource, () => void>();

  const build = (withFleet: Fleet | undefined) => {
    core = createCore(config, { ...parts, ...(withFleet ? { fleet: withFleet } : {}) });
    // Each edge gets the services it calls and what it needs beside them; none gets the hub or the gate.
    const { chat, control, auth, audit, startPacer } = core;
    const address = resolved.clientAddress ? { clientAddress: resolved.clientAddress } : {};
    // One interop for both mounts: a conversation started on tw.router resumes on tw.fetch.
    const interop = createInterop({ chat, control, auth, metrics, log, config, conversations: core.fleet?.conversations, tools: core.tools }, address);
    router = mountable(createRouter({ chat, control, auth, audit, metrics, log, instanceId, config }, basePath, interop));
    fetchHandler = createFetchHandler({ chat, control, auth, audit, metrics, log, config }, { basePath, interop: interop.handle, ...address });
    ws = createWsTransport({ chat, control, auth, startPacer, metrics, log, instanceId, config }, { path: `${basePath}${WS_PATH}` });
    internals.onBuilt?.({ core, ws });
    for (const [server, attachOptions] of pendingAttach) detachers.set(server, ws.attach(server, attachOptions));
    pendingAttach.clear();
  };

  let ready: Promise<void>;
  const open = resolved.store && openerOf(resolved.store);
  /** This instance opens (and so closes) its store's connections; an injected fleet is the injector's. */
  const ownFleet = open !== undefined && !internals.fleet;
  if (!ownFleet) {
    build(internals.fleet);
    ready = Promise.resolve();
  } else {
    ready = open!({ config, instanceId, incarnation: incarnationOf(instanceId), log }).then(
      (opened) => build(opened),
      (error: unknown) => {
        failure = error;
        log.error({ err: error }, 'the store could not be opened');
        throw error;
      },
    );
    // Nobody may ever ask: the failure is logged and answered per request, never unhandled.
    ready.catch(() => undefined);
  }

  /** 503 while the store connects (or failed to): typed, retryable. */
  const unavailable = () =>
    new TokenwireError('store_unavailable', failure ? 'The stream store could not be reached.' : 'The stream store is still connecting.');

  let closing: Promise<void> | undefined;

  return {
    router(req, res, next) {
      if (router) return router(req, res, next);
      if (failure) return sendUnavailable(res, unavailable());
      ready.then(
        () => router!(req, res, next),
        () => sendUnavailable(res, unavailable()),
      );
    },
    async fetch(request) {
      if (!fetchHandler) await ready.catch(() => undefined);
      if (!fetchHandler) return errorResponse(unavailable(), metrics, { 'retry-after': '1' });
      return fetchHandler(request);
    },
    wsPath: `${basePath}${WS_PATH}`,
    attach(server, attachOptions) {
      if (ws) {
        const detach = ws.attach(server, attachOptions);
        detachers.set(server, detach);
        return () => {
          detachers.delete(server);
          detach();
        };
      }
      pendingAttach.set(server, attachOptions);
      return () => {
        pendingAttach.delete(server);
        detachers.get(server)?.();
        detachers.delete(server);
      };
    },
    metrics: metrics.registry,
    health() {
      const storeState = !ownFleet && !internals.fleet ? 'memory' : core?.fleet?.available ? 'redis' : 'redis_unavailable';
      return {
        ready: core !== undefined && !core.control.draining && storeState !== 'redis_unavailable',
        instance: instanceId,
        streams: core?.hub.active().length ?? 0,
        store: storeState,
        draining: core?.control.draining ?? closing !== undefined,
      };
    },
    ready: () => ready,
    close({ deadlineMs = config.SHUTDOWN_TIMEOUT_MS } = {}) {
      const until = Date.now() + deadlineMs;
      const left = () => Math.max(0, until - Date.now());
      // Readiness turns false at once, so a load balancer stops sending while streams end.
      core?.control.drain();
      ws?.stopAccepting();
      return (closing ??= (async () => {
        await ready.catch(() => undefined);
        if (!core || !ws) return;
        core.control.drain();
        ws.stopAccepting();
        // Streams end first (server_shutdown + done reach every view), then sockets close with 1001.
        await core.control.shutdown(left());
        await ws.close(left());
        // Last: the streams' final frames reach Redis before its connections close.
        if (ownFleet) await core.fleet?.close();
      })());
    },
  };
}

/** The store's 503 on a plain Node response: the router is not built yet, so Express's helpers are not there. */
function sendUnavailable(res: ServerResponse, error: TokenwireError): void {
  if (res.headersSent) return void res.end();
  res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', ...errorHeaders(error), 'retry-after': '1' });
  res.end(JSON.stringify(error.toJSON()));
}

/**
 * The Express sub-app as middleware any host can call: the host's request and response
 * prototypes come back when a request goes on to the host's next handler, as Express does for
 * a mounted sub-app, so `req.app` and `res.render` stay the host's.
 */
function mountable(app: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void): TokenwireRouter {
  return (req, res, next) => {
    const requestProto = Object.getPrototypeOf(req) as object;
    const responseProto = Object.getPrototypeOf(res) as object;
    app(req, res, (error?: unknown) => {
      Object.setPrototypeOf(req, requestProto);
      Object.setPrototypeOf(res, responseProto);
      next(error);
    });
  };
}
