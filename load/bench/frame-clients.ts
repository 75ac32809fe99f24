import { Agent, request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { createSseParser } from '../../shared/sse.js';

/** A server frame as the probes read it: only the fields they look at. */
export interface ProbeFrame {
  type: string;
  streamId?: string;
  seq?: number;
  id?: string;
  callId?: string;
  approval?: string;
  approvalToken?: string;
  [key: string]: unknown;
}

const parse = (text: string): ProbeFrame | undefined => {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string' ? (value as ProbeFrame) : undefined;
  } catch {
    return undefined;
  }
};

/** One tokenwire SSE stream, fully parsed (the probes are few, so they read every frame). */
export interface SseStream {
  close(): void;
}

/**
 * POSTs `body` to /api/chat, or with `resume` GETs /api/streams/:id from `Last-Event-ID`
 * with the stream's token, and parses the SSE answer into frames.
 */
export function openSseFrames(
  port: number,
  body: unknown,
  onFrame: (frame: ProbeFrame, now: number) => void,
  onEnd: (error?: string) => void,
  resume?: { streamId: string; token: string; lastSeq: number },
): SseStream {
  let ended = false;
  const end = (error?: string) => {
    if (!ended) {
      ended = true;
      onEnd(error);
    }
  };
  const text = resume ? '' : JSON.stringify(body);
  const target = resume
    ? { path: `/api/streams/${encodeURIComponent(resume.streamId)}?token=${encodeURIComponent(resume.token)}`, method: 'GET', headers: { 'last-event-id': String(resume.lastSeq) } }
    : { path: '/api/chat', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } };
  const req: ClientRequest = request(
    { host: '127.0.0.1', port, agent: false, ...target },
    (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(`http ${res.statusCode}`);
        return;
      }
      const parser = createSseParser({
        onEvent: (event) => {
          const frame = parse(event.data);
          if (frame) onFrame(frame, performance.now());
        },
      });
      res.on('data', (chunk: Buffer) => parser.feed(new Uint8Array(chunk)));
      res.on('end', () => end());
      res.on('close', () => end('closed'));
      res.on('error', (error) => end(error.message));
    },
  );
  req.on('error', (error) => end(error.message));
  req.end(text);
  return { close: () => req.destroy() };
}

/** A WebSocket to tokenwire's /ws whose messages are parsed into frames. */
export interface WsFrames {
  socket: WebSocket;
  send(frame: unknown): void;
  /** Replaces the frame listener. */
  onFrame(listener: (frame: ProbeFrame, now: number) => void): void;
  close(): void;
}

export function openWsFrames(port: number, timeoutMs = 5_000): Promise<WsFrames> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, origin: `http://127.0.0.1:${port}` });
    let listener: (frame: ProbeFrame, now: number) => void = () => {};
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`ws: not open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (data: Buffer) => {
      const now = performance.now();
      const value = parse(data.toString('utf8'));
      if (value) listener(value, now);
    });
    socket.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(`ws upgrade refused: http ${res.statusCode}`));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('open', () => {
      clearTimeout(timer);
      resolve({
        socket,
        send: (frame) => socket.send(JSON.stringify(frame)),
        onFrame: (next) => (listener = next),
        close: () => socket.terminate(),
      });
    });
  });
}

/** Whether the server accepts WebSocket upgrades on /ws. */
export async function hasWebSocket(port: number): Promise<{ ok: boolean; reason: string }> {
  try {
    const ws = await openWsFrames(port, 3_000);
    ws.close();
    return { ok: true, reason: '' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** A keep-alive agent for the approval POSTs, as a browser reuses its connection. */
export const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });

/** POSTs JSON and resolves with the status and parsed body. */
export function postJson(port: number, path: string, body: unknown, agent: Agent = keepAlive): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        let raw = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (raw += chunk));
        res.on('end', () => {
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('POST timed out')));
    req.on('error', reject);
    req.end(text);
  });
}
