import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import { parseWith } from '../../../shared/frame-codec.js';
import { ChatRequest, HEADERS } from '../../../shared/protocol.js';
import { streamTokenOf } from '../../access/stream-access.js';
import type { Core } from '../../service/core.js';
import { errorResponse, jsonResponse as json } from '../http-errors.js';
import { cancelStream, decideApproval, findStream, idempotencyKeyOf, parseResumePoint, startResumePoint, type StreamAccess } from '../../service/stream-requests.js';
import type { StreamLog } from '../../streams/hub.js';
import { openView } from '../../views/stream-view.js';
import { answerStartAsResponse, viewAsResponse } from '../../views/sse-web.js';
import { jsonBodyOf } from './json-body.js';
import { identifyWebRequest, type WebHandlerOptions } from './web-identity.js';

export type { WebHandlerOptions };

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

const viewOptions = (core: Core) => ({
  heartbeatMs: core.config.HEARTBEAT_MS,
  retryMs: core.config.SSE_RETRY_MS,
  maxBufferedBytes: core.config.MAX_BUFFERED_BYTES,
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
const errorAnswer = (core: Pick<Core, 'metrics'>, error: TokenwireError): Response => errorResponse(error, core.metrics);

/**
 * Who asks, as on the Express routes: the authenticated subject (401 when required and
 * missing) and the stream token from `X-Stream-Token` or `?token=`.
 */
async function accessOf(core: Core, request: Request, options: WebHandlerOptions): Promise<StreamAccess | TokenwireError> {
  const identity = await identifyWebRequest(core, request, options);
  if (identity instanceof TokenwireError) return identity;
  return { subject: identity?.subject, token: streamTokenOf(request, !core.auth.required) };
}

/**
 * `POST /api/chat` as a `(Request) => Promise<Response>` function: for a Next.js App Router
 * route handler, Hono (`c.req.raw`), Bun.serve or Deno.serve. The core's authenticator runs
 * first (401), the stream is bound to the subject, and the per-client limits apply to the
 * subject, else to `options.clientAddress` (429 with `Retry-After`). Bad input gets the same
 * typed 400 as the Express route.
 */
export function createChatHandler(core: Core, options: WebHandlerOptions = {}): (request: Request) => Promise<Response> {
  return async (request) => {
    const identity = await identifyWebRequest(core, request, options);
    if (identity instanceof TokenwireError) return errorAnswer(core, identity);
    const raw = await jsonBody(request);
    if (!raw.ok) return errorAnswer(core, raw.error);
    const body = parseWith(ChatRequest, raw.value);
    if (!body.ok) return errorAnswer(core, new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
    const idempotencyKey = idempotencyKeyOf(request.headers.get(HEADERS.idempotencyKey));
    if (idempotencyKey instanceof TokenwireError) return errorAnswer(core, idempotencyKey);
    const resumeAfter = startResumePoint(idempotencyKey, request.headers.get('last-event-id'));
    if (resumeAfter instanceof TokenwireError) return errorAnswer(core, resumeAfter);
    let replayed = false;
    const keyed = idempotencyKey !== undefined ? { idempotencyKey, onReplay: () => (replayed = true) } : {};
    try {
      const stream = await core.startChat(body.value, { transport: 'sse', gone: () => request.signal.aborted, ...(identity ? { identity } : {}), ...keyed });
      return await streamToResponse(stream, { ...viewOptions(core), afterSeq: replayed ? resumeAfter : -1, signal: request.signal });
    } catch (error) {
      return errorAnswer(core, toTokenwireError(error));
    }
  };
}

/**
 * `GET` and `DELETE /api/streams/:id` as web handlers taking the request and the stream id:
 * resume over SSE from `Last-Event-ID` (or `?lastSeq=`) and cancel, as the subject that
 * started the stream or with its token, answering exactly as the Express routes do.
 */
export function createStreamHandlers(core: Core, options: WebHandlerOptions = {}): {
  GET(request: Request, streamId: string): Promise<Response>;
  DELETE(request: Request, streamId: string): Promise<Response>;
} {
  return {
    async GET(request, streamId) {
      const afterSeq = parseResumePoint(request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastSeq'));
      if (afterSeq instanceof TokenwireError) return errorAnswer(core, afterSeq);
      const access = await accessOf(core, request, options);
      const stream = access instanceof TokenwireError ? access : await findStream(core, streamId, access);
      if (stream instanceof TokenwireError) return errorAnswer(core, stream);
      return streamToResponse(stream, { ...viewOptions(core), afterSeq, signal: request.signal });
    },
    async DELETE(request, streamId) {
      const access = await accessOf(core, request, options);
      const stream = access instanceof TokenwireError ? access : await findStream(core, streamId, access);
      if (stream instanceof TokenwireError) return errorAnswer(core, stream);
      const cancelled = await cancelStream(stream);
      return cancelled instanceof TokenwireError ? errorAnswer(core, cancelled) : json(200, cancelled);
    },
  };
}

/** `POST /api/approvals/:callId` as a web handler: the decision as the stream's subject or with its token, as on the Express route. */
export function createApprovalHandler(core: Core, options: WebHandlerOptions = {}): (request: Request, callId: string) => Promise<Response> {
  return async (request, callId) => {
    const access = await accessOf(core, request, options);
    if (access instanceof TokenwireError) return errorAnswer(core, access);
    const raw = await jsonBody(request);
    if (!raw.ok) return errorAnswer(core, raw.error);
    const decided = await decideApproval(core, callId, raw.value, access, { subject: access.subject, transport: 'http' });
    return decided instanceof TokenwireError ? errorAnswer(core, decided) : json(200, decided);
  };
}
