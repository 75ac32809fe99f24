import type { HeadersProvider, WebSocketCtor, WebSocketLike } from './types.js';

/** How to open the client's WebSocket. */
export interface WsSocketOptions {
  url: string;
  WebSocket: WebSocketCtor;
  headers: HeadersProvider | undefined;
  /** A bearer token for the upgrade, sent as `?access_token=` (browsers cannot set headers). */
  wsAuthToken: (() => string | Promise<string>) | undefined;
  connectTimeoutMs: number;
}

/** What the connection hears from an open socket. */
export interface WsSocketListeners {
  message(event: { data: unknown }): void;
  /** The socket closed after it had opened. */
  close(socket: WebSocketLike): void;
}

/** A message's text: browsers give strings, Node's `ws` may give bytes. */
export function messageText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data as ArrayBuffer);
  return undefined;
}

/**
 * Opens one WebSocket and resolves once it is open; rejects with the reason when it fails,
 * closes or takes longer than `connectTimeoutMs`. Headers go on the upgrade only where the
 * constructor takes options (`ws` in Node); the auth token goes in the URL everywhere.
 */
export async function openWebSocket(options: WsSocketOptions, listeners: WsSocketListeners): Promise<WebSocketLike> {
  const headers = options.headers ? await options.headers() : undefined;
  const token = options.wsAuthToken ? await options.wsAuthToken() : undefined;
  const url = new URL(options.url);
  if (token) url.searchParams.set('access_token', token);
  const ws = headers ? new options.WebSocket(url.toString(), undefined, { headers }) : new options.WebSocket(url.toString());
  return new Promise<WebSocketLike>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        ws.close();
      } catch {
        // Closing a socket that never opened can throw in some runtimes.
      }
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail(`no connection within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    ws.addEventListener('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ws);
    });
    ws.addEventListener('error', () => fail('the WebSocket failed to connect'));
    ws.addEventListener('close', (event) => {
      if (!settled) fail(`the WebSocket closed while connecting (code ${event.code ?? 'unknown'})`);
      else listeners.close(ws);
    });
    ws.addEventListener('message', listeners.message);
  });
}
