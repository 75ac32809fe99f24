import { TokenwireError } from '../../../shared/errors.js';
import { canControl, streamTokenOf } from '../../access/stream-access.js';
import type { ApprovalAudit } from '../../engine/approval-audit.js';
import { errorResponse, jsonResponse as json } from '../http-errors.js';
import { WS_PATH } from '../ws/ws-server.js';
import { createApprovalHandler, createChatHandler, createStreamHandlers, createToolOutputHandler, type WebDeps } from './web.js';
import { identifyWebRequest, type WebHandlerOptions } from './web-identity.js';

/** Routes another module serves for a web Request (the AI SDK and AG-UI wires): undefined when the path is not theirs. */
export type WebRoutes = (request: Request, path: string) => Promise<Response | undefined>;

/** What the fetch handler uses: the web handlers' services, and the approval audit. */
export interface FetchHandlerDeps extends WebDeps {
  audit: ApprovalAudit;
}

/**
 * Every tokenwire route as one web-standard `(Request) => Promise<Response>` (Hono's
 * `c.req.raw`, a Next.js catch-all route handler, Bun.serve, Deno.serve): the same routes and
 * answers as the Express router, under `basePath`. A path that is not tokenwire's is 404
 * `not_found`; a known path with another method is 405 with `Allow` (RFC 9110 §15.5.6).
 */
export function createFetchHandler(deps: FetchHandlerDeps, options: { basePath: string; interop?: WebRoutes } & WebHandlerOptions): (request: Request) => Promise<Response> {
  const chat = createChatHandler(deps, options);
  const streams = createStreamHandlers(deps, options);
  const decide = createApprovalHandler(deps, options);
  const answer = createToolOutputHandler(deps, options);
  const fail = (error: TokenwireError, headers: Record<string, string> = {}) => errorResponse(error, deps.metrics, headers);
  const notAllowed = (allow: string) => fail(new TokenwireError('method_not_allowed', `Use ${allow}.`), { allow });

  async function audit(request: Request, streamId: string): Promise<Response> {
    const identity = await identifyWebRequest(deps, request, options);
    if (identity instanceof TokenwireError) return fail(identity);
    const stream = await deps.control.findStream(streamId);
    if (!stream) return fail(new TokenwireError('unknown_stream', 'No such stream: it never existed or is no longer kept.'));
    if (!canControl(stream, { subject: identity?.subject, token: streamTokenOf(request, !deps.auth.required) })) return fail(new TokenwireError('forbidden', 'This stream is not yours: it belongs to another user, or needs its stream token from the start frame.'));
    return json(200, { streamId: stream.id, approvals: await deps.audit.forStream(stream.id) });
  }

  return async function fetch(request: Request): Promise<Response> {
    let pathname: string;
    try {
      pathname = new URL(request.url).pathname;
    } catch {
      return fail(new TokenwireError('invalid_request', 'The request URL is not valid.'));
    }
    if (options.basePath && pathname !== options.basePath && !pathname.startsWith(`${options.basePath}/`)) return fail(new TokenwireError('not_found'));
    const path = pathname.slice(options.basePath.length);
    const method = request.method.toUpperCase();
    const parts = path.split('/');
    let segment: string | undefined;
    try {
      segment = parts[3] === undefined ? undefined : decodeURIComponent(parts[3]);
    } catch {
      return fail(new TokenwireError('invalid_request', 'The URL has invalid percent-encoding.'));
    }
    try {
      if (path === WS_PATH) return fail(new TokenwireError('invalid_request', 'This path takes WebSocket upgrades only (RFC 6455 §4.1); tw.fetch serves no WebSocket.'));
      if (path === '/api/chat') return method === 'POST' ? await chat(request) : notAllowed('POST');
      if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'approvals' && segment) return method === 'POST' ? await decide(request, segment) : notAllowed('POST');
      if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'tool-outputs' && segment) return method === 'POST' ? await answer(request, segment) : notAllowed('POST');
      if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'streams' && segment) {
        if (method === 'GET') return await streams.GET(request, segment);
        if (method === 'HEAD') {
          const viewed = await streams.GET(request, segment);
          // HEAD answers the head a GET would, and ends: no view of the stream is kept open.
          await viewed.body?.cancel();
          return new Response(null, { status: viewed.status, headers: viewed.headers });
        }
        if (method === 'DELETE') return await streams.DELETE(request, segment);
        return notAllowed('GET, HEAD, DELETE');
      }
      if (parts.length === 5 && parts[1] === 'api' && parts[2] === 'streams' && segment && parts[4] === 'approvals') return method === 'GET' ? await audit(request, segment) : notAllowed('GET');
      const other = await options.interop?.(request, path);
      if (other) return other;
      return fail(new TokenwireError('not_found'));
    } catch (error) {
      const known = error instanceof TokenwireError ? error : new TokenwireError('internal', undefined, { cause: error });
      if (known.code === 'internal') deps.log.error({ err: error }, 'request failed');
      return fail(known);
    }
  };
}
