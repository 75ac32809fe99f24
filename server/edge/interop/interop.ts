import type { Router } from 'express';
import type { WebHandlerOptions } from '../web/web-identity.js';
import { addInteropExpressRoutes, type InteropExpressDeps } from './interop-express.js';
import { createInteropService, type InteropServiceDeps } from '../../service/interop/interop-service.js';
import { createInteropWebHandler, type InteropWebDeps } from './interop-web.js';

/** The AI SDK and AG-UI routes of one instance, for Express and for web-standard Requests. */
export interface Interop {
  /**
   * Registers `POST /api/ai-sdk/chat`, `GET` and `DELETE /api/ai-sdk/chat/:id/stream` and
   * `POST /api/ag-ui` on `router`, with those absolute paths; mount the router under any prefix.
   */
  routes(router: Router): void;
  /**
   * Serves the same routes for a WHATWG `Request`: `path` is its pathname with the mount
   * prefix removed (e.g. `/api/ai-sdk/chat`). Resolves undefined when the path and method are
   * no interop route.
   */
  handle(request: Request, path: string): Promise<Response | undefined>;
}

/** What the interop routes use: their service's parts (chat, control, conversations) and the edges' (who asks, metrics). */
export type InteropDeps = InteropServiceDeps & InteropExpressDeps & InteropWebDeps;

/**
 * The ecosystem's stream protocols served from tokenwire's streams: the AI SDK's UI message
 * stream (`useChat`) and AG-UI (`HttpAgent`, CopilotKit), see docs/interop.md. `routes` and
 * `handle` share one conversation store, one access rule and the one SSE view, so a chat
 * started through one can be resumed or cancelled through the other. `options.clientAddress`
 * names a web request's caller for the per-client limits (edge/web/web-identity.ts).
 */
export function createInterop(deps: InteropDeps, options: WebHandlerOptions = {}): Interop {
  const service = createInteropService(deps);
  return {
    routes: (router) => addInteropExpressRoutes(router, deps, service),
    handle: createInteropWebHandler(deps, service, options),
  };
}
