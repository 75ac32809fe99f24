import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { identifyWebRequest, type WebHandlerOptions } from '../adapters/web-identity.js';
import type { Core } from '../core.js';
import { errorHeaders } from '../http/http-errors.js';
import { answerStartAsResponse, viewAsResponse } from '../transports/sse-web.js';
import type { InteropAnswer, InteropCaller, InteropService } from './interop-service.js';

/** The largest JSON body a route reads, as `express.json({ limit: '1mb' })` on the Express routes. */
const MAX_BODY_BYTES = 1024 * 1024;

const STREAM_PATH = /^\/api\/ai-sdk\/chat\/([^/]+)\/stream\/?$/;
const CHAT_PATH = /^\/api\/ai-sdk\/chat\/?$/;
const AG_UI_PATH = /^\/api\/ag-ui\/?$/;

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

/**
 * The request's JSON body, read to at most MAX_BODY_BYTES, refused as the Express routes
 * refuse it: `unsupported_media_type` unless it is `application/json`, `payload_too_large`,
 * `invalid_request` when it is not a JSON object or array.
 */
async function jsonBodyOf(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
  const tooLarge = () => new TokenwireError('payload_too_large', 'The body is too large.');
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new TokenwireError('invalid_request', 'The body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null) throw new TokenwireError('invalid_request', 'The body must be a JSON object.');
  return value;
}

/** A path segment as Express's router decodes it; `invalid_request` for bad percent-encoding. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TokenwireError('invalid_request', 'The URL has invalid percent-encoding.');
  }
}

/**
 * The interop routes for a web-standard `Request` (Next.js route handlers, Hono, Bun, Deno):
 * `path` is the request's pathname with any mount prefix removed. Answers exactly as the
 * Express routes do, from the same service; undefined when the path and method are no
 * interop route, for the caller to answer.
 */
export function createInteropWebHandler(core: Core, service: InteropService, options: WebHandlerOptions = {}): (request: Request, path: string) => Promise<Response | undefined> {
  const fail = (error: TokenwireError): Response => {
    core.metrics.errors.inc({ code: error.code });
    return jsonResponse(error.status, error.toJSON(), errorHeaders(error));
  };
  const answer = (request: Request, result: InteropAnswer): Response => {
    if (result.kind === 'json') return jsonResponse(200, result.body);
    if (result.kind === 'no_content') return new Response(null, { status: 204 });
    if (result.kind === 'not_viewed') return answerStartAsResponse(result.start);
    const { view } = result;
    return viewAsResponse(view.start, view.streamId, {
      heartbeatMs: core.config.HEARTBEAT_MS,
      maxBufferedBytes: core.config.MAX_BUFFERED_BYTES,
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
      const identity = await identifyWebRequest(core, request, options);
      if (identity instanceof TokenwireError) return fail(identity);
      const caller: InteropCaller = { identity, lastEventId: request.headers.get('last-event-id') ?? undefined, gone: () => request.signal.aborted };
      return answer(request, await work(caller));
    } catch (error) {
      const known = toTokenwireError(error);
      if (known.code === 'internal') core.log.error({ err: error }, 'interop request failed');
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
