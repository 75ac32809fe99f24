import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Messages request as the fake upstream saw it. */
export interface AnthropicCall {
  body: { model: string; messages: { role: string; content: unknown }[]; tools?: unknown[]; stream?: boolean; [k: string]: unknown };
  headers: IncomingMessage['headers'];
  /** True while the reply is still open. */
  open: boolean;
  /** Resolves when the client's socket closes, with whether the reply was still open then (the client hung up). */
  closed: Promise<{ early: boolean }>;
}

/**
 * A streamed reply in the Messages API's format (Anthropic, "Streaming Messages": event
 * `message_start`, then per content block `content_block_start`, deltas and
 * `content_block_stop`, then `message_delta` with `stop_reason` and usage, and `message_stop`;
 * an `error` event may come at any point).
 */
export interface AnthropicReply {
  readonly call: AnthropicCall;
  /** Writes one SSE event `event: <type>` whose data is `{ type, ...data }`. */
  event(type: string, data?: Record<string, unknown>): void;
  messageStart(inputTokens: number): void;
  /** A thinking block: its text in pieces (thinking_delta), then its signature (signature_delta). */
  thinking(index: number, pieces: string[], signature: string): void;
  /** A text block, in pieces (text_delta). */
  text(index: number, pieces: string[]): void;
  /** A tool_use block, its input JSON in pieces (input_json_delta). */
  toolUse(index: number, id: string, name: string, pieces: string[]): void;
  /** `message_delta` with the stop reason and output usage, then `message_stop`, and the end. */
  finish(stopReason: string, outputTokens: number, thinkingTokens?: number): void;
  /** An HTTP error before any stream, as the API answers it: `{ type: 'error', error: { type, message } }`. */
  fail(status: number, type: string, message: string): void;
}

export type AnthropicScript = (reply: AnthropicReply) => void | Promise<void>;

export interface FakeAnthropic {
  /** The base URL to give `createAnthropic` (ends in /v1). */
  baseURL: string;
  calls: AnthropicCall[];
  /** Answers the n-th request (0-based) with the n-th script. */
  script(...scripts: AnthropicScript[]): void;
  close(): Promise<void>;
}

/** A loopback HTTP server that answers POST /v1/messages with a scripted Messages stream. */
export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  let scripts: AnthropicScript[] = [];
  const calls: AnthropicCall[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const part of req) raw += String(part);
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404).end();
      return;
    }
    let markClosed: (value: { early: boolean }) => void = () => {};
    const call: AnthropicCall = { body: JSON.parse(raw), headers: req.headers, open: true, closed: new Promise((resolve) => (markClosed = resolve)) };
    const script = scripts[calls.length];
    calls.push(call);
    res.on('close', () => {
      markClosed({ early: call.open });
      call.open = false;
    });
    const event = (type: string, data: Record<string, unknown> = {}) => {
      if (!call.open) return;
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    const delta = (index: number, body: Record<string, unknown>) => event('content_block_delta', { index, delta: body });
    const reply: AnthropicReply = {
      call,
      event,
      messageStart(inputTokens) {
        event('message_start', {
          message: { id: `msg_${calls.length}`, type: 'message', role: 'assistant', content: [], model: call.body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } },
        });
      },
      thinking(index, pieces, signature) {
        event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const thinking of pieces) delta(index, { type: 'thinking_delta', thinking });
        delta(index, { type: 'signature_delta', signature });
        event('content_block_stop', { index });
      },
      text(index, pieces) {
        event('content_block_start', { index, content_block: { type: 'text', text: '' } });
        for (const text of pieces) delta(index, { type: 'text_delta', text });
        event('content_block_stop', { index });
      },
      toolUse(index, id, name, pieces) {
        event('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } });
        for (const partial_json of pieces) delta(index, { type: 'input_json_delta', partial_json });
        event('content_block_stop', { index });
      },
      finish(stopReason, outputTokens, thinkingTokens) {
        event('message_delta', {
          delta: { stop_reason: stopReason, stop_sequence: null },
          usage: { output_tokens: outputTokens, ...(thinkingTokens !== undefined ? { output_tokens_details: { thinking_tokens: thinkingTokens } } : {}) },
        });
        event('message_stop');
        call.open = false;
        res.end();
      },
      fail(status, type, message) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type, message } }));
        call.open = false;
      },
    };
    if (!script) {
      reply.fail(500, 'api_error', `no script for request ${calls.length}`);
      return;
    }
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
    script: (...next) => {
      scripts = next;
      calls.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
