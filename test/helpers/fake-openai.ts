import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One chat-completions request as the fake upstream saw it, and what it did with it. */
export interface UpstreamCall {
  body: { model: string; messages: unknown[]; tools?: unknown[]; stream?: boolean; [k: string]: unknown };
  /** performance.now() of every content token written. */
  tokenWrites: number[];
  /** performance.now() when the client's socket closed, if it did before the reply ended. */
  closedAt: number | undefined;
  /** Resolves when the client's socket closes (aborted or done). */
  closed: Promise<number>;
  /** True while the reply is still open. */
  open: boolean;
}

/** What a script can do with one streamed reply, in OpenAI's chat.completion.chunk format. */
export interface Reply {
  readonly call: UpstreamCall;
  /** Starts a 200 text/event-stream reply (done by the first send). */
  text(content: string): void;
  toolCall(index: number, part: { id?: string; name?: string; arguments?: string }): void;
  /** Sends the finish chunk, a usage chunk and `data: [DONE]`, then ends. */
  finish(reason?: 'stop' | 'length' | 'tool_calls', usage?: { prompt: number; completion: number }): void;
  /** Answers with an HTTP error before any stream, as OpenAI does; `headers` e.g. `retry-after-ms`. */
  fail(status: number, message: string, headers?: Record<string, string>): void;
  /** Drops the connection mid-stream (TCP reset). */
  reset(): void;
  /** Sends one chunk exactly as given (any shape: no `choices`, no `index` …) as an SSE event. */
  chunk(body: Record<string, unknown>): void;
  /** Writes raw bytes into the reply (after a 200 text/event-stream head unless `head` came first). */
  write(bytes: string | Uint8Array): void;
  /** Sends the response head now: a status and headers of the test's choosing. */
  head(status: number, headers: Record<string, string>): void;
  /** Ends the reply as it is: no finish chunk, no `[DONE]` unless written before. */
  end(): void;
}

export type Script = (reply: Reply) => void | Promise<void>;

export interface FakeOpenAI {
  /** The base URL to give the openai SDK (ends in /v1). */
  baseURL: string;
  calls: UpstreamCall[];
  /** Sets how the next requests are answered. */
  script(fn: Script): void;
  close(): Promise<void>;
}

let chunkId = 0;

/**
 * A loopback HTTP server that speaks OpenAI's chat-completions streaming format: SSE chunks,
 * tool-call deltas, usage, `[DONE]`, HTTP errors and resets. Tests drive it with a script.
 */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  let script: Script = (reply) => {
    reply.text('Hello');
    reply.finish();
  };
  const calls: UpstreamCall[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const part of req) raw += String(part);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    let markClosed: (at: number) => void = () => {};
    const call: UpstreamCall = {
      body: JSON.parse(raw),
      tokenWrites: [],
      closedAt: undefined,
      closed: new Promise((resolve) => (markClosed = resolve)),
      open: true,
    };
    calls.push(call);
    res.on('close', () => {
      const at = performance.now();
      if (call.open) call.closedAt = at;
      call.open = false;
      markClosed(at);
    });
    const id = `chatcmpl-${++chunkId}`;
    const startStream = () => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    };
    const send = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => {
      startStream();
      const chunk = { id, object: 'chat.completion.chunk', created: 0, model: call.body.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    };
    const reply: Reply = {
      call,
      text(content) {
        if (!call.open) return;
        send({ content });
        call.tokenWrites.push(performance.now());
      },
      toolCall(index, part) {
        if (!call.open) return;
        const fn: Record<string, string> = {};
        if (part.name !== undefined) fn.name = part.name;
        if (part.arguments !== undefined) fn.arguments = part.arguments;
        send({ tool_calls: [{ index, ...(part.id ? { id: part.id, type: 'function' } : {}), function: fn }] });
      },
      finish(reason = 'stop', usage) {
        if (!call.open) return;
        send({}, reason);
        if (usage) {
          res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: call.body.model, choices: [], usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion } })}\n\n`);
        }
        res.end('data: [DONE]\n\n');
        call.open = false;
      },
      fail(status, message, headers = {}) {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: null } }));
        call.open = false;
      },
      reset() {
        call.open = false;
        res.socket?.resetAndDestroy();
      },
      chunk(body) {
        if (!call.open) return;
        startStream();
        res.write(`data: ${JSON.stringify(body)}\n\n`);
      },
      write(bytes) {
        if (!call.open) return;
        startStream();
        res.write(bytes);
      },
      head(status, headers) {
        res.writeHead(status, headers);
        // Out at once, before any body: a stall after the head must look like one to the client.
        res.flushHeaders();
      },
      end() {
        if (!call.open) return;
        startStream();
        res.end();
        call.open = false;
      },
    };
    await script(reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    calls,
    script: (fn) => (script = fn),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves after the event loop turns once: lets socket writes go out before the next step. */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
