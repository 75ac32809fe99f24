import { request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import type { Target, Wire } from './types.js';

/** What a stream client reports; `now` is performance.now() in the client's process. */
export interface StreamSink {
  /** `n` tokens arrived in one chunk (an HTTP chunk, a WebSocket message). */
  tokens(n: number, now: number): void;
  /** ws: the `start` frame (or the baseline's request) went out on an open socket. */
  sent(now: number): void;
  /** The connection is established and the server answered (headers, or the socket opened). */
  open(): void;
  /** Called once: the stream ended, with a reason when it did not end well. */
  end(error?: string): void;
}

export interface StreamSpec {
  port: number;
  tokens: number;
  prompt: string;
  /** Idle mode: open the connection and send nothing (ws), or ask and wait (http). */
  idle: boolean;
}

export interface StreamHandle {
  /** Drops the connection at once (a closed tab); resolves when the socket has closed. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Counts a byte pattern in a stream of chunks, including matches split across chunks. The
 * load clients count `event: token` lines instead of parsing every SSE frame, which keeps
 * the generator's cost per token a few hundred nanoseconds.
 */
export function createPatternCounter(pattern: string): (chunk: Buffer) => number {
  const needle = Buffer.from(pattern, 'latin1');
  const keep = needle.length - 1;
  let tail = Buffer.alloc(0);
  const occurrences = (haystack: Buffer): number => {
    let n = 0;
    for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) n++;
    return n;
  };
  return (chunk) => {
    let n = 0;
    if (tail.length) n += occurrences(Buffer.concat([tail, chunk.subarray(0, keep)]));
    n += occurrences(chunk);
    const joined = chunk.length >= keep ? chunk : Buffer.concat([tail, chunk]);
    tail = Buffer.from(joined.subarray(Math.max(0, joined.length - keep)));
    return n;
  };
}

const countNewlines = (chunk: Buffer): number => {
  let n = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) n++;
  return n;
};

function chatBody(spec: StreamSpec): string {
  return JSON.stringify({ messages: [{ role: 'user', content: spec.prompt }], options: { simulate: { tokens: spec.tokens } } });
}

/** An HTTP POST whose response body is streamed to `onChunk`; shared by SSE and the baseline. */
function postStream(path: string, body: string, spec: StreamSpec, sink: StreamSink, onChunk: (chunk: Buffer, now: number) => void, onEndCheck: () => string | undefined): StreamHandle {
  let ended = false;
  const end = (error?: string) => {
    if (ended) return;
    ended = true;
    sink.end(error);
  };
  // agent: false: one connection per stream, as a browser tab holds one per SSE stream.
  const req: ClientRequest = request(
    { host: HOST, port: spec.port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'text/event-stream' } },
    (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(`http ${res.statusCode}`);
        req.destroy();
        return;
      }
      sink.open();
      res.on('data', (chunk: Buffer) => onChunk(chunk, performance.now()));
      res.on('end', () => end(onEndCheck()));
      res.on('error', (error) => end(`response: ${error.message}`));
      res.on('close', () => end('closed before the end'));
    },
  );
  req.on('error', (error) => end(`request: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
  const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
  req.end(body);
  return {
    close() {
      req.destroy();
      return closed;
    },
  };
}

/** tokenwire SSE: POST /api/chat, counting `event: token` lines. */
function openSse(spec: StreamSpec, sink: StreamSink): StreamHandle {
  const countTokens = createPatternCounter('\nevent: token\n');
  const countDone = createPatternCounter('\nevent: done\n');
  const countErrors = createPatternCounter('\nevent: error\n');
  let done = 0;
  let errors = 0;
  let tokens = 0;
  let last: Buffer | undefined;
  return postStream(
    '/api/chat',
    chatBody(spec),
    spec,
    sink,
    (chunk, now) => {
      const n = countTokens(chunk);
      if (n) sink.tokens(n, now);
      tokens += n;
      done += countDone(chunk);
      errors += countErrors(chunk);
      last = chunk;
    },
    () => {
      if (errors) return 'error frame';
      if (done !== 1) return 'ended without done';
      if (tokens === spec.tokens) return undefined;
      // Only on a failure: say how the stream ended.
      const reason = /"reason":"(\w+)"/.exec(last?.toString('utf8') ?? '')?.[1] ?? '?';
      return `got ${tokens} of ${spec.tokens} tokens, done reason ${reason}`;
    },
  );
}

/** The baseline's HTTP stream: one newline-terminated token per write. */
function openHttpBaseline(spec: StreamSpec, sink: StreamSink): StreamHandle {
  return postStream(
    '/chat',
    JSON.stringify({ prompt: spec.prompt, tokens: spec.tokens }),
    spec,
    sink,
    (chunk, now) => {
      const n = countNewlines(chunk);
      if (n) sink.tokens(n, now);
    },
    () => undefined,
  );
}

const TOKEN_PREFIX = Buffer.from('{"type":"token"', 'latin1');

function openWebSocket(spec: StreamSpec, sink: StreamSink, target: Target): StreamHandle {
  let ended = false;
  let done = false;
  let doneReason = '';
  const end = (error?: string) => {
    if (ended) return;
    ended = true;
    sink.end(error);
  };
  const socket = new WebSocket(`ws://${HOST}:${spec.port}/ws`, { perMessageDeflate: false, origin: `http://${HOST}:${spec.port}` });

  const countFrame = (frame: unknown, now: number) => {
    if (Array.isArray(frame)) {
      for (const f of frame) countFrame(f, now);
      return;
    }
    const type = (frame as { type?: unknown } | null)?.type;
    if (type === 'token') sink.tokens(1, now);
    else if (type === 'error') end(`error frame: ${String((frame as { code?: unknown }).code)}`);
    else if (type === 'done') {
      done = true;
      doneReason = String((frame as { reason?: unknown }).reason);
      socket.close(1000);
    }
  };

  socket.on('open', () => {
    sink.open();
    if (spec.idle) return;
    const now = performance.now();
    if (target === 'tokenwire') {
      socket.send(JSON.stringify({ type: 'start', id: 'c1', messages: [{ role: 'user', content: spec.prompt }], options: { simulate: { tokens: spec.tokens } } }));
    } else {
      socket.send(JSON.stringify({ prompt: spec.prompt, tokens: spec.tokens }));
    }
    sink.sent(now);
  });
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const now = performance.now();
    if (target === 'baseline') {
      sink.tokens(1, now);
      return;
    }
    if (!isBinary && data.length > TOKEN_PREFIX.length && data.compare(TOKEN_PREFIX, 0, TOKEN_PREFIX.length, 0, TOKEN_PREFIX.length) === 0) {
      sink.tokens(1, now);
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      end('a message that is not JSON');
      return;
    }
    countFrame(frame, now);
  });
  socket.on('unexpected-response', (_req, res) => {
    end(`ws upgrade refused: http ${res.statusCode}`);
    socket.terminate();
  });
  socket.on('error', (error) => end(`ws: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
  socket.on('close', (code) => {
    if (target === 'baseline') end(code === 1000 ? undefined : `ws closed ${code}`);
    else end(!done ? `ws closed ${code} before done` : doneReason === 'stop' ? undefined : `done reason ${doneReason}`);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    close() {
      socket.terminate();
      return closed;
    },
  };
}

/** Opens one stream of the given wire against the given server. */
export function openStream(target: Target, wire: Wire, spec: StreamSpec, sink: StreamSink): StreamHandle {
  if (wire === 'ws') return openWebSocket(spec, sink, target);
  if (target === 'baseline') return openHttpBaseline(spec, sink);
  return openSse(spec, sink);
}
