import { ERROR_CODES, TokenwireError, type ErrorCode } from '../shared/errors.js';
import { HEADERS } from '../shared/protocol.js';
import { joinUrl } from './base-url.js';
import type { ToolOutputBody } from './client-tool-runner.js';
import type { DecisionOptions, HeadersProvider } from './types.js';

/** What the HTTP side of the client needs: where, how, and with which headers. */
export interface HttpDeps {
  /** Where tokenwire is mounted, checked by `checkBaseUrl`; every path is joined under it. */
  baseUrl: string;
  fetch: typeof fetch;
  headers: HeadersProvider | undefined;
}

/** The caller's headers, asked for again for every request, under ours. */
export async function requestHeaders(deps: HttpDeps, own: Record<string, string>): Promise<Record<string, string>> {
  const extra = deps.headers ? await deps.headers() : {};
  return { ...extra, ...own };
}

/**
 * Decides a tool call over HTTP (`POST /api/approvals/:callId`) with the stream's token in
 * `X-Stream-Token`: the back channel SSE lacks, and the one a resumed WebSocket uses.
 */
export async function postDecision(
  deps: HttpDeps,
  callId: string,
  decision: 'approve' | 'deny',
  token: string | undefined,
  options: DecisionOptions = {},
): Promise<void> {
  await postJson(deps, `/api/approvals/${encodeURIComponent(callId)}`, { decision, ...options }, token, 'the decision was not sent');
}

/**
 * Sends a client tool's answer over HTTP (`POST /api/tool-outputs/:callId`, protocol minor 8)
 * with the stream's token in `X-Stream-Token`: for SSE, and for a WebSocket that is not open.
 */
export async function postToolOutput(deps: HttpDeps, callId: string, body: ToolOutputBody, token: string | undefined): Promise<void> {
  await postJson(deps, `/api/tool-outputs/${encodeURIComponent(callId)}`, body, token, "the tool's output was not sent");
}

/**
 * Cancels a stream with `DELETE /api/streams/:id` and its token: the server aborts the model
 * request at once, whatever resume window the stream has.
 */
export async function deleteStream(deps: HttpDeps, streamId: string, token: string | undefined): Promise<void> {
  // The token goes in the query, as on resume, so an app's own Authorization header stays its own.
  const url = joinUrl(deps.baseUrl, `/api/streams/${encodeURIComponent(streamId)}`);
  if (token) url.searchParams.set('token', token);
  await send(deps, url, { method: 'DELETE', headers: await requestHeaders(deps, {}) }, 'the cancel was not sent');
}

/**
 * One request of the back channel: resolves on a 2xx; a refusal is its TokenwireError, and a
 * request that never got an answer (the network is down) is `connection_lost`, retryable.
 */
async function send(deps: HttpDeps, url: URL, init: RequestInit, what: string): Promise<void> {
  let response: Response;
  try {
    response = await deps.fetch(url, init);
  } catch (error) {
    throw connectionLost(what, error);
  }
  if (!response.ok) throw await errorFromResponse(response);
}

/** POSTs `body` as JSON under `baseUrl`, with the stream's token in `X-Stream-Token`. */
async function postJson(deps: HttpDeps, path: string, body: unknown, token: string | undefined, what: string): Promise<void> {
  const headers = await requestHeaders(deps, { 'content-type': 'application/json', ...(token ? { [HEADERS.streamToken]: token } : {}) });
  await send(deps, joinUrl(deps.baseUrl, path), { method: 'POST', headers, body: JSON.stringify(body) }, what);
}

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** Turns an error response (`{ error: { code, message } }`) into a TokenwireError; never throws. */
export async function errorFromResponse(response: Response): Promise<TokenwireError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `The server answered ${response.status}.`;
  if (isErrorCode(error?.code)) return new TokenwireError(error.code, message);
  // A code this client does not know (a newer server): keep the message, judge by the status.
  return new TokenwireError(response.status >= 500 ? 'internal' : 'invalid_request', message);
}

/**
 * The connection to the server failed or dropped. The closed set of codes has none for the
 * network, so this is `internal` (retryable) with a message that says what happened.
 */
export const connectionLost = (what: string, cause?: unknown): TokenwireError =>
  new TokenwireError('connection_lost', `The connection to the server was lost: ${what}.`, { cause });
