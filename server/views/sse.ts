import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { retryAfterSeconds, toTokenwireError } from '../../shared/errors.js';
import type { StreamLog } from '../streams/hub.js';
import { openView, type ViewStart } from './stream-view.js';
import { answerWithoutView, runSseView, sseResponseHeaders, type SseSink, type SseView, type SseViewOptions } from './sse-view.js';
import { corkForTurn } from './turn-cork.js';

export { coalesceTokens, encodeViewError } from './sse-view.js';

/** A view on a Node response: the view's options (its stream id comes from the stream) and headers beside the SSE ones. */
export type ServeSseOptions = Omit<SseViewOptions, 'streamId'> & {
  /** Response headers beside the SSE ones (a protocol's own, e.g. the AI SDK's). */
  headers?: Readonly<Record<string, string>> | undefined;
};

/**
 * Views a stream as Server-Sent Events on a Node `ServerResponse` (Express): the adapter of
 * the shared view in sse-view.ts. Headers go out at once; `drain` and `close` reach the view.
 * A view that cannot start gets 204 (after `done`) or its typed error instead.
 */
export async function serveSse(res: ServerResponse, stream: StreamLog, options: ServeSseOptions): Promise<void> {
  let gone = false;
  const resOnEarlyClose = () => (gone = true);
  res.once('close', resOnEarlyClose);
  let start: Awaited<ReturnType<typeof openView>>;
  try {
    start = await openView(stream, options.afterSeq);
  } catch (thrown) {
    // The store could not be read (`store_unavailable` while Redis is away): a typed answer.
    const error = toTokenwireError(thrown);
    const retryAfter = retryAfterSeconds(error);
    if (!gone && !res.headersSent) res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', ...(retryAfter ? { 'retry-after': retryAfter } : {}) }).end(JSON.stringify(error.toJSON()));
    return;
  } finally {
    res.off('close', resOnEarlyClose);
  }
  if (start.status !== 'ok') {
    if (!gone) answerStartOnResponse(res, start);
    return;
  }
  if (gone) return start.detach();
  viewOnResponse(res, start, stream.id, options);
}

/** Answers a view that cannot start on a Node response: 204 after `done`, else the typed error as JSON. */
export function answerStartOnResponse(res: ServerResponse, start: Exclude<ViewStart, { status: 'ok' }>): void {
  const answer = answerWithoutView(start);
  res.writeHead(answer.status, answer.body ? { 'content-type': 'application/json; charset=utf-8' } : {}).end(answer.body);
}

/**
 * Runs an opened view on a Node response: the SSE head (and `options.headers`), then the view
 * on a sink that writes to the socket, with `drain` and `close` wired to it. A client that
 * already left, or a HEAD, lets go of the view at once.
 */
export function viewOnResponse(res: ServerResponse, start: Extract<ViewStart, { status: 'ok' }>, streamId: string, options: ServeSseOptions): void {
  if (res.destroyed) return start.detach();
  const headers = sseResponseHeaders(streamId);
  // Only while Node keeps the connection: a request that asked to close (RFC 9112 §9.6) or an
  // HTTP/1.0 one is answered `Connection: close`, so a pooling client does not reuse the socket.
  if (res.shouldKeepAlive) headers.connection = 'keep-alive';
  if (options.headers) Object.assign(headers, options.headers);
  if (res.req.method === 'HEAD') {
    // A HEAD learns what a GET would get and ends: it is no viewer (it would hold the
    // connection, and the stream's abort policy, until the stream ended).
    start.detach();
    res.writeHead(200, headers).end();
    return;
  }

  res.writeHead(200, headers);
  // Corked first, then flushed: the head is handed to the socket before the view writes to it,
  // and leaves with `retry:` and the catch-up replay (the `start` frame at least) in one write
  // this turn, not in a syscall of its own per start.
  res.cork();
  res.flushHeaders();
  // HTTP/1.1 answers are chunked and own their socket once their head is out: the view writes
  // whole chunks to it. HTTP/1.0, HEAD and a response still queued behind another go through
  // `res.write`.
  const socket = res.chunkedEncoding ? res.socket : null;
  const view = runSseView(start, socket ? new ChunkedSocketSink(res, socket) : new ResponseSink(res), { ...options, streamId });
  process.nextTick(() => res.uncork());
  views.set(res, view);
  if (socket) {
    views.set(socket, view);
    drainingSocket.set(res, socket);
    socket.on('drain', emitterOnDrain);
  } else {
    res.on('drain', emitterOnDrain);
  }
  // Closed before `done` was written: the client went away (after `end` this is a no-op).
  res.on('close', resOnClose);
}

/**
 * Each response's view (and its socket's, when the view writes to the socket), for listeners
 * shared by every response: closures per open view were ~0.2 KiB. An emitter calls
 * its listeners with `this` = itself.
 */
const views = new WeakMap<ServerResponse | Socket, SseView>();
/** The socket a chunked view listens to for `drain`, until its response closes. */
const drainingSocket = new WeakMap<ServerResponse, Socket>();

function emitterOnDrain(this: ServerResponse | Socket): void {
  views.get(this)?.drain();
}

function resOnClose(this: ServerResponse): void {
  // The socket may serve the next request on the connection: the view lets go of it.
  const socket = drainingSocket.get(this);
  if (socket) {
    socket.off('drain', emitterOnDrain);
    views.delete(socket);
  }
  views.get(this)?.close();
}

/**
 * The view's sink on a chunked HTTP/1.1 response (RFC 9112 §7.1): each SSE chunk is written to
 * the socket as one HTTP chunk, `<size in hex>\r\n<data>\r\n`, in one write. `res.write` made
 * four (size, CRLF, data, CRLF) with Node's bookkeeping for each: ~1.3 µs per token on loopback
 *. `end` goes through `res.end`, which writes the last chunk (`0\r\n\r\n`) and hands
 * the connection on as keep-alive.
 */
class ChunkedSocketSink implements SseSink {
  private readonly res: ServerResponse;
  private readonly socket: Socket;

  constructor(res: ServerResponse, socket: Socket) {
    this.res = res;
    this.socket = socket;
  }

  write(chunk: string): boolean {
    if (this.socket.destroyed) return true;
    corkForTurn(this.socket);
    return this.socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
  }

  end(chunk?: string): void {
    if (chunk) this.write(chunk);
    this.res.end();
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }
}

/**
 * The view's sink on a `ServerResponse`. A class: an object literal with a getter
 * was a dictionary-mode object and three closures per stream; this is one small object.
 */
class ResponseSink implements SseSink {
  private readonly res: ServerResponse;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  write(chunk: string): boolean {
    // Frames written in one turn leave in one writev, without Node's nextTick per write.
    if (this.res.socket) corkForTurn(this.res.socket);
    return this.res.write(chunk);
  }

  end(chunk?: string): void {
    this.res.end(chunk);
  }

  get bufferedBytes(): number {
    return this.res.writableLength;
  }
}
