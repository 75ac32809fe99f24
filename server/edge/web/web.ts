import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import { parseWith } from '../../../shared/frame-codec.js';
import { ChatRequest, HEADERS } from '../../../shared/protocol.js';
import { streamTokenOf } from '../../access/stream-access.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ChatService } from '../../service/chat-service.js';
import type { StreamControl } from '../../service/stream-control.js';
import type { DecidedBy } from '../../engine/approvals.js';
import type { Config } from '../../settings/config.js';
import { errorResponse, jsonResponse as json } from '../http-errors.js';
import { answerToolCall } from '../../service/tool-outputs.js';
import { cancelStream, decideApproval, findStream, idempotencyKeyOf, parseResumePoint, startResumePoint, type StreamAccess } from '../../service/stream-requests.js';
import type { StreamLog } from '../../streams/hub.js';
import { openView } from '../../views/stream-view.js';
import { answerStartAsResponse, viewAsResponse } from '../../views/sse-web.js';
import { jsonBodyOf } from './json-body.js';
import { identifyWebRequest, type WebHandlerOptions } from './web-identity.js';

export type { WebHandlerOptions };

/** What the web-standard handlers use: the two services, who asks, and the SSE view's settings. */
export interface WebDeps {
  chat: ChatService;
  control: StreamControl;
  auth: Authenticator;
  metrics: Metrics;
  log: Logger;
  config: Pick<Config, 'HEARTBEAT_MS' | 'SSE_RETRY_MS' | 'MAX_BUFFERED_BYTES'>;
}

/**
 * A stream as a web-standard `Response` whose body is the shared SSE view (sse-view.ts): the
 * same frames, resume, heartbeats, coalescing and abort policy as the Express route. The
 * ReadableStream's byte queue is the backpressure; `signal` (the request's) or a cancelled
 * body is the client leaving. A view that cannot start answers 204 or its typed error.
 */
export async function streamToResponse(
  stream: StreamLog,
  options: { heartbeatMs: number; retryMs: number; maxBufferedBytes: number; afterSeq?: number; signal?: AbortSignal },
): Promise<Response> {
  const afterSeq = options.afterSeq ?? -1;
  let start: Awaited<ReturnType<typeof openView>>;
  try {
    start = await openView(stream, afterSeq);
  } catch (thrown) {
    // The store could not be read (`store_unavailable` while Redis is away): a typed answer.
    const error = toTokenwireError(thrown);
    return new Response(JSON.stringify(error.toJSON()), { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' } });
  }
  if (start.status !== 'ok') return answerStartAsResponse(start);
  return viewAsResponse(start, stream.id, { ...options, afterSeq });
}

const viewOptions = ({ config }: Pick<WebDeps, 'config'>) => ({
  heartbeatMs: config.HEARTBEAT_MS,
  retryMs: config.SSE_RETRY_MS,
  maxBufferedBytes: config.MAX_BUFFERED_BYTES,
});

/** The request's JSON object body, at most 1 MiB (413 past it), as on the Express routes. */
async function jsonBody(request: Request): Promise<{ ok: true; value: unknown } | { ok: false; error: TokenwireError }> {
  try {
    const value = await jsonBodyOf(request);
    // As on the Node routes: a JSON object, not an array.
    if (Array.isArray(value)) return { ok: false, error: new TokenwireError('invalid_request', 'The body must be a JSON object.') };
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: toTokenwireError(error) };
  }
}

/** Answers a typed error as the Express routes do: its status, JSON body and headers, counted. */
const errorAnswer = (deps: Pick<WebDeps, 'metrics'>, error: TokenwireError): Response => errorResponse(error, deps.metrics);

/**
 * Who asks, as on the Express routes: the authenticated subject (401 when required and
 * missing) and the stream token from `X-Stream-Token` or `?token=`.
 */
async function accessOf(deps: Pick<WebDeps, 'auth'>, request: Request, options: WebHandlerOptions): Promise<StreamAccess | TokenwireError> {
  const identity = await identifyWebRequest(deps, request, options);
  if (identity instanceof TokenwireError) return identity;
  return { subject: identity?.subject, token: streamTokenOf(request, !deps.auth.required) };
}

/**
 * `POST /api/chat` as a `(Request) => Promise<Response>` function: for a Next.js App Router
 * route handler, Hono (`c.req.raw`), Bun.serve or Deno.serve. The authenticator runs
 * first (401), the stream is bound to the subject, and the per-client limits apply to the
 * subject, else to `options.clientAddress` (429 with `Retry-After`). Bad input gets the same
 * typed 400 as the Express route.
 */
export function createChatHandler(deps: WebDeps, options: WebHandlerOptions = {}): (request: Request) => Promise<Response> {
  return async (request) => {
    const identity = await identifyWebRequest(deps, request, options);
    if (identity instanceof TokenwireError) return errorAnswer(deps, identity);
    const raw = await jsonBody(request);
    if (!raw.ok) return errorAnswer(deps, raw.error);
    const body = parseWith(ChatRequest, raw.value);
    if (!body.ok) return errorAnswer(deps, new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
    const idempotencyKey = idempotencyKeyOf(request.headers.get(HEADERS.idempotencyKey));
    if (idempotencyKey instanceof TokenwireError) return errorAnswer(deps, idempotencyKey);
    const resumeAfter = startResumePoint(idempotencyKey, request.headers.get('last-event-id'));
    if (resumeAfter instanceof TokenwireError) return errorAnswer(deps, resumeAfter);
    let replayed = false;
    const keyed = idempotencyKey !== undefined ? { idempotencyKey, onReplay: () => (replayed = true) } : {};
    try {
      const stream = await deps.chat.startChat(body.value, { transport: 'sse', gone: () => request.signal.aborted, ...(identity ? { identity } : {}), ...keyed });
      return await streamToResponse(stream, { ...viewOptions(deps), afterSeq: replayed ? resumeAfter : -1, signal: request.signal });
    } catch (error) {
      return errorAnswer(deps, toTokenwireError(error));
    }
  };
}

/**
 * `GET` and `DELETE /api/streams/:id` as web handlers taking the request and the stream id:
 * resume over SSE from `Last-Event-ID` (or `?lastSeq=`) and cancel, as the subject that
 * started the stream or with its token, answering exactly as the Express routes do.
 */
export function createStreamHandlers(deps: WebDeps, options: WebHandlerOptions = {}): {
  GET(request: Request, streamId: string): Promise<Response>;
  DELETE(request: Request, streamId: string): Promise<Response>;
} {
  return {
    async GET(request, streamId) {
      const afterSeq = parseResumePoint(request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastSeq'));
      if (afterSeq instanceof TokenwireError) return errorAnswer(deps, afterSeq);
      const access = await accessOf(deps, request, options);
      const stream = access instanceof TokenwireError ? access : await findStream(deps.control, streamId, access);
      if (stream instanceof TokenwireError) return errorAnswer(deps, stream);
      return streamToResponse(stream, { ...viewOptions(deps), afterSeq, signal: request.signal });
    },
    async DELETE(request, streamId) {
      const access = await accessOf(deps, request, options);
      const stream = access instanceof TokenwireError ? access : await findStream(deps.control, streamId, access);
      if (stream instanceof TokenwireError) return errorAnswer(deps, stream);
      const cancelled = await cancelStream(stream);
      return cancelled instanceof TokenwireError ? errorAnswer(deps, cancelled) : json(200, cancelled);
    },
  };
}

/** What a POST on a tool call does with its body: `decideApproval` or `answerToolCall`. */
type CallAct = (deps: WebDeps, callId: string, raw: unknown, access: StreamAccess, by: DecidedBy) => Promise<object | TokenwireError>;

/** A POST on one tool call: the caller's access and the JSON body, then `act`; answers 200 with its result or the typed error. */
function callHandler(deps: WebDeps, options: WebHandlerOptions, act: CallAct): (request: Request, callId: string) => Promise<Response> {
  return async (request, callId) => {
    const access = await accessOf(deps, request, options);
    if (access instanceof TokenwireError) return errorAnswer(deps, access);
    const raw = await jsonBody(request);
    if (!raw.ok) return errorAnswer(deps, raw.error);
    const done = await act(deps, callId, raw.value, access, { subject: access.subject, transport: 'http' });
    return done instanceof TokenwireError ? errorAnswer(deps, done) : json(200, done);
  };
}

/** `POST /api/tool-outputs/:callId` as a web handler: a client tool's output, under the same access as a decision. */
export function createToolOutputHandler(deps: WebDeps, options: WebHandlerOptions = {}): (request: Request, callId: string) => Promise<Response> {
  return callHandler(deps, options, answerToolCall);
}

/** `POST /api/approvals/:callId` as a web handler: the decision as the stream's subject or with its token, as on the Express route. */
export function createApprovalHandler(deps: WebDeps, options: WebHandlerOptions = {}): (request: Request, callId: string) => Promise<Response> {
  return callHandler(deps, options, decideApproval);
}
