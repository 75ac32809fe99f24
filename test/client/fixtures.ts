import { WebSocket } from 'ws';
import type { ChatInput, ChatStream, TokenBatch, ToolCall, WebSocketCtor } from '../../client/index.js';

/** `ws`'s WebSocket as the client's constructor type. */
export const NodeWebSocket = WebSocket as unknown as WebSocketCtor;

/** A WebSocket constructor that remembers every socket it made, so tests can count or kill them. */
export function trackingWebSocket(): { ctor: WebSocketCtor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
      super(url, protocols, options);
      sockets.push(this);
    }
  }
  return { ctor: Tracked as unknown as WebSocketCtor, sockets };
}

/** A WebSocket constructor that always dials a closed port: the socket can never open. */
export function unreachableWebSocket(): WebSocketCtor {
  class Unreachable extends WebSocket {
    constructor(_url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
      super('ws://127.0.0.1:1/ws', protocols, options);
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
