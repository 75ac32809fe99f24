import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { encodeFrameSse, parseWith } from '../../shared/frame-codec.js';
import { ChatRequest, HEADERS, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { encodeSse, encodeSseComment } from '../../shared/sse.js';
import type { Core } from '../core.js';
import type { Stream, StreamRecord } from '../streams/hub.js';
import { encodeViewError } from '../transports/sse.js';

const jsonError = (error: TokenwireError): Response =>
  new Response(JSON.stringify(error.toJSON()), { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' } });

/**
 * A stream as a web-standard `Response` whose body is the SSE view of it: the same frames,
 * heartbeats and abort-on-disconnect as the Node transport. Backpressure comes from the
 * ReadableStream's queue; past `maxBufferedBytes` the view ends with `slow_consumer`.
 */
export function streamToResponse(
  stream: Stream,
  options: { heartbeatMs: number; retryMs: number; maxBufferedBytes: number; signal?: AbortSignal },
): Response {
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const detach = stream.attachViewer();
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          clearInterval(heartbeat);
          unsubscribe();
          options.signal?.removeEventListener('abort', close);
          detach();
        };
        cleanup = close;
        const enqueue = (text: string) => {
          if (closed) return;
          controller.enqueue(encoder.encode(text));
          if ((controller.desiredSize ?? 0) < -options.maxBufferedBytes) {
            controller.enqueue(encoder.encode(encodeViewError(stream.id, stream.lastSeq, new TokenwireError('slow_consumer'))));
            controller.close();
            close();
          }
        };
        const send = (record: StreamRecord) => {
          enqueue(encodeFrameSse(record.frame, record.json));
          if (record.frame.type === 'done' && !closed) {
            controller.close();
            close();
          }
        };
        const heartbeat = setInterval(() => enqueue(encodeSseComment('hb')), options.heartbeatMs);
        enqueue(encodeSse({ retry: options.retryMs }));
        let unsubscribe = () => {};
        for (const record of stream.readFrom(-1) ?? []) send(record);
        if (!closed) unsubscribe = stream.subscribe(send);
        options.signal?.addEventListener('abort', close, { once: true });
      },
      cancel() {
        cleanup();
      },
    },
    // Count bytes, so desiredSize is a byte figure.
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      [HEADERS.streamId]: stream.id,
      [HEADERS.protocol]: String(PROTOCOL_VERSION),
    },
  });
}

/**
 * `POST /api/chat` as a `(Request) => Promise<Response>` function: for a Next.js App Router
 * route handler, Hono (`c.req.raw`), Bun.serve or Deno.serve. Bad input gets the same typed
 * 400 as the Express route.
 */
export function createChatHandler(core: Core): (request: Request) => Promise<Response> {
  return async (request) => {
    if (!(request.headers.get('content-type') ?? '').includes('application/json')) {
      return jsonError(new TokenwireError('invalid_request', 'Send the body as application/json.'));
    }
    let raw: unknown;
    try {
      raw = await request.json();
    } catch {
      return jsonError(new TokenwireError('invalid_request', 'The body is not valid JSON.'));
    }
    const body = parseWith(ChatRequest, raw);
    if (!body.ok) return jsonError(new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
    try {
      const stream = core.startChat(body.value, { transport: 'sse' });
      return streamToResponse(stream, {
        heartbeatMs: core.config.HEARTBEAT_MS,
        retryMs: core.config.SSE_RETRY_MS,
        maxBufferedBytes: core.config.MAX_BUFFERED_BYTES,
        signal: request.signal,
      });
    } catch (error) {
      return jsonError(toTokenwireError(error));
    }
  };
}
