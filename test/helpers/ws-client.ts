import WebSocket, { type ClientOptions } from 'ws';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame } from '../../shared/protocol.js';

/** What a test sees of one real WebSocket to the server: every message and frame, as they come. */
export interface WsTestClient {
  ws: WebSocket;
  /** Every text message received, in order. */
  messages: string[];
  /** Every message that decoded as a server frame, in order. */
  frames: ServerFrame[];
  /** Sends a value as one JSON text message. */
  send(frame: unknown): void;
  /** Resolves with the first frame (from the start of the session) matching `match`. */
  waitForFrame(match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  /** Resolves with the n-th frame (1-based) matching `match`. */
  waitForCount(match: (frame: ServerFrame) => boolean, count: number, timeoutMs?: number): Promise<ServerFrame[]>;
  /** Resolves when the socket closes, with its close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** The WebSocket URL of a test server: http://host:port → ws://host:port/ws */
export const wsUrl = (baseUrl: string, path = '/ws') => `${baseUrl.replace(/^http/, 'ws')}${path}`;

/** Frames of one stream, in arrival order. */
export const framesOf = (frames: ServerFrame[], streamId: string) => frames.filter((f) => f.streamId === streamId);

/** The concatenated text of token frames. */
export const textOf = (frames: ServerFrame[]) =>
  frames.map((f) => (f.type === 'token' ? f.text : '')).join('');

function attach(ws: WebSocket): WsTestClient {
  const waiters = new Set<() => void>();
  const client: WsTestClient = {
    ws,
    messages: [],
    frames: [],
    send: (frame) => ws.send(JSON.stringify(frame)),
    waitForFrame: (match, timeoutMs) => client.waitForCount(match, 1, timeoutMs).then((found) => found[0] as ServerFrame),
    waitForCount(match, count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        // Scans each frame once, however many arrive: streams in these tests run to 10^5 frames.
        const found: ServerFrame[] = [];
        let scanned = 0;
        const check = () => {
          for (; scanned < client.frames.length && found.length < count; scanned++) {
            const frame = client.frames[scanned] as ServerFrame;
            if (match(frame)) found.push(frame);
          }
          if (found.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const last = client.frames.slice(-10).map((f) => f.type).join(',');
          reject(new Error(`timed out waiting for ${count} frame(s); saw ${client.frames.length}, the last: ${last}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    close: () => ws.close(),
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    client.messages.push(text);
    const decoded = decodeServerFrame(text);
    if (decoded.ok) client.frames.push(decoded.value);
    for (const waiter of [...waiters]) waiter();
  });
  return client;
}

/** Opens a real WebSocket to a test server's /ws and resolves once it is open. */
export async function connectWs(baseUrl: string, options: ClientOptions & { path?: string } = {}): Promise<WsTestClient> {
  const { path, ...rest } = options;
  const ws = new WebSocket(wsUrl(baseUrl, path), rest);
  const client = attach(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  return client;
}

/** Tries an upgrade that the server should refuse; resolves with the HTTP status it answered. */
export function refusedUpgrade(baseUrl: string, options: ClientOptions & { path?: string } = {}): Promise<{ status: number; body: string }> {
  const { path, ...rest } = options;
  const ws = new WebSocket(wsUrl(baseUrl, path), rest);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => {});
  });
}
