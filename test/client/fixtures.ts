import { WebSocket } from 'ws';
import type { ChatInput, ChatStream, TokenBatch, ToolCall, WebSocketCtor } from '../../client/index.js';

/** Node 24's built-in WebSocket (WHATWG), the one the client picks up from globalThis. */
export const NodeWebSocket = globalThis.WebSocket as unknown as WebSocketCtor;

/**
 * A WebSocket constructor that remembers every socket it made, so tests can count or kill them.
 * `ws`'s, because its terminate() cuts the TCP connection abruptly, as a network drop does;
 * the WHATWG API can only close politely.
 */
export function trackingWebSocket(): { ctor: WebSocketCtor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { ctor: Tracked as unknown as WebSocketCtor, sockets };
}

/**
 * Like `trackingWebSocket`, with a gate: while it is shut, new sockets dial a closed port and
 * fail, so a test decides when a reconnect may succeed (what happens while the client is away).
 */
export function gatedWebSocket(): { ctor: WebSocketCtor; sockets: WebSocket[]; shut(): void; open(): void } {
  const sockets: WebSocket[] = [];
  let shut = false;
  class Gated extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(shut ? 'ws://127.0.0.1:1/ws' : url, protocols);
      if (!shut) sockets.push(this);
    }
  }
  return { ctor: Gated as unknown as WebSocketCtor, sockets, shut: () => (shut = true), open: () => (shut = false) };
}

/** A WebSocket constructor that always dials a closed port: the socket can never open. */
export function unreachableWebSocket(): WebSocketCtor {
  class Unreachable extends globalThis.WebSocket {
    constructor(_url: string | URL, protocols?: string | string[]) {
      super('ws://127.0.0.1:1/ws', protocols);
    }
  }
  return Unreachable as unknown as WebSocketCtor;
}

export const ask = (content: string, extra: Omit<ChatInput, 'messages'> = {}): ChatInput => ({
  messages: [{ role: 'user', content }],
  ...extra,
});

/** Collects a stream's token batches. */
export function collectBatches(stream: ChatStream): TokenBatch[] {
  const batches: TokenBatch[] = [];
  stream.onToken((batch) => batches.push(batch));
  return batches;
}

/** Resolves with the first `event` value, or rejects if the stream ends before it comes. */
function before<T>(stream: ChatStream, subscribe: (resolve: (value: T) => void) => () => void, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const offDone = stream.on('done', (result) => {
      off();
      reject(new Error(`the stream ended (${result.reason}: ${result.error?.message ?? ''}) before ${what}`));
    });
    const off = subscribe((value) => {
      off();
      offDone();
      resolve(value);
    });
  });
}

/** Resolves with the stream's next tool call. */
export const nextToolCall = (stream: ChatStream): Promise<ToolCall> =>
  before(stream, (resolve) => stream.on('tool_call', resolve), 'a tool call');

/** Resolves once the stream has handed out at least one token batch. */
export const firstToken = (stream: ChatStream): Promise<TokenBatch> => before(stream, (resolve) => stream.onToken(resolve), 'a token');
