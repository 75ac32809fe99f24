import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { createSseParser, type SseEvent } from '../../shared/sse.js';

/** What a test sees of one SSE response: the raw reads, the parsed events and frames, as they come. */
export interface SseSession {
  response: IncomingMessage;
  status: number;
  headers: IncomingMessage['headers'];
  /** Every chunk read from the socket, in order, with its arrival time. */
  reads: { at: number; text: string }[];
  events: SseEvent[];
  frames: ServerFrame[];
  comments: string[];
  /** Resolves when a frame matching `match` has arrived (or at once if one has). */
  waitForFrame(match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  /** Resolves when the response ends, with every frame. */
  ended: Promise<ServerFrame[]>;
  /** Destroys the connection, as a closed browser tab does. */
  disconnect(): void;
}

/** POSTs JSON to an SSE endpoint over a real socket and parses the stream incrementally. */
export const postSse = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseSession> =>
  openSse('POST', url, JSON.stringify(body), { 'content-type': 'application/json', ...headers });

/** GETs an SSE endpoint (a resume) over a real socket. */
export const getSse = (url: string, headers: Record<string, string> = {}): Promise<SseSession> => openSse('GET', url, undefined, headers);

function openSse(method: string, url: string, body: string | undefined, headers: Record<string, string>): Promise<SseSession> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      const waiters = new Set<() => void>();
      const session: SseSession = {
        response,
        status: response.statusCode ?? 0,
        headers: response.headers,
        reads: [],
        events: [],
        frames: [],
        comments: [],
        waitForFrame(match, timeoutMs = 5_000) {
          return new Promise((res, rej) => {
            const check = () => {
              const found = session.frames.find(match);
              if (found) {
                clearTimeout(timer);
                waiters.delete(check);
                res(found);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`timed out waiting for a frame; saw ${session.frames.map((f) => f.type).join(',')}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        ended: new Promise((res, rej) => {
          response.on('end', () => res(session.frames));
          response.on('error', rej);
        }),
        disconnect: () => req.destroy(),
      };
      session.ended.catch(() => {});
      const parser = createSseParser({
        onEvent: (event) => {
          session.events.push(event);
          const decoded = decodeServerFrame(event.data);
          if (decoded.ok) session.frames.push(decoded.value);
          for (const waiter of [...waiters]) waiter();
        },
        onComment: (text) => session.comments.push(text),
      });
      response.on('data', (chunk: Buffer) => {
        session.reads.push({ at: performance.now(), text: chunk.toString('utf8') });
        parser.feed(new Uint8Array(chunk));
      });
      resolve(session);
    });
    req.on('error', reject);
    req.end(body);
  });
}
