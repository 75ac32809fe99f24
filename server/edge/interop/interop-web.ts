import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import { identifyWebRequest, type WebHandlerOptions } from '../web/web-identity.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Config } from '../../settings/config.js';
import { errorResponse, jsonResponse } from '../http-errors.js';
import { jsonBodyOf } from '../web/json-body.js';
import { answerStartAsResponse, viewAsResponse } from '../../views/sse-web.js';
import type { InteropAnswer, InteropCaller, InteropService } from '../../service/interop/interop-service.js';

const STREAM_PATH = /^\/api\/ai-sdk\/chat\/([^/]+)\/stream\/?$/;
const CHAT_PATH = /^\/api\/ai-sdk\/chat\/?$/;
const AG_UI_PATH = /^\/api\/ag-ui\/?$/;

/** A path segment as Express's router decodes it; `invalid_request` for bad percent-encoding. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TokenwireError('invalid_request', 'The URL has invalid percent-encoding.');
  }
}

/** What the interop routes for web Requests use beside their service: who asks, and the view's settings. */
export interface InteropWebDeps {
  auth: Authenticator;
  metrics: Metrics;
  log: Logger;
  config: Pick<Config, 'HEARTBEAT_MS' | 'MAX_BUFFERED_BYTES'>;
}

/**
 * The interop routes for a web-standard `Request` (Next.js route handlers, Hono, Bun, Deno):
 * `path` is the request's pathname with any mount prefix removed. Answers exactly as the
 * Express routes do, from the same service; undefined when the path and method are no
 * interop route, for the caller to answer.
 */
export function createInteropWebHandler(deps: InteropWebDeps, service: InteropService, options: WebHandlerOptions = {}): (request: Request, path: string) => Promise<Response | undefined> {
  const { config, log } = deps;
  const fail = (error: TokenwireError): Response => errorResponse(error, deps.metrics);
  const answer = (request: Request, result: InteropAnswer): Response => {
    if (result.kind === 'json') return jsonResponse(200, result.body);
    if (result.kind === 'no_content') return new Response(null, { status: 204 });
    if (result.kind === 'not_viewed') return answerStartAsResponse(result.start);
    const { view } = result;
    return viewAsResponse(view.start, view.streamId, {
      heartbeatMs: config.HEARTBEAT_MS,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      afterSeq: view.afterSeq,
      encoder: view.encoder,
      headers: view.headers,
      signal: request.signal,
      head: request.method === 'HEAD',
    });
  };
  /** Identifies the caller (401 when required and missing), then runs `work`; every refusal becomes its typed answer. */
  const run = async (request: Request, work: (caller: InteropCaller) => Promise<InteropAnswer>): Promise<Response> => {
    try {
      const identity = await identifyWebRequest(deps, request, options);
      if (identity instanceof TokenwireError) return fail(identity);
      const caller: InteropCaller = { identity, lastEventId: request.headers.get('last-event-id') ?? undefined, gone: () => request.signal.aborted };
      return answer(request, await work(caller));
    } catch (error) {
      const known = toTokenwireError(error);
      if (known.code === 'internal') log.error({ err: error }, 'interop request failed');
      return fail(known);
    }
  };

  return async (request, path) => {
    const { method } = request;
    if (method === 'POST' && CHAT_PATH.test(path)) return run(request, async (caller) => service.aiSdkChat(caller, await jsonBodyOf(request)));
    if (method === 'POST' && AG_UI_PATH.test(path)) return run(request, async (caller) => service.agUiRun(caller, await jsonBodyOf(request)));
    const stream = STREAM_PATH.exec(path);
    if (!stream) return undefined;
    if (method === 'GET' || method === 'HEAD') return run(request, (caller) => service.aiSdkResume(caller, decodeSegment(stream[1]!)));
    if (method === 'DELETE') return run(request, (caller) => service.aiSdkCancel(caller, decodeSegment(stream[1]!)));
    return undefined;
  };
}
