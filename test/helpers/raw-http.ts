import { connect, type Socket } from 'node:net';

/** The first HTTP response on a raw socket: status, lower-cased headers, body text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The whole text the server wrote before closing (or before the timeout). */
  raw: string;
}

/**
 * Parses the first response of `raw`, the bytes as latin1 text (Content-Length bodies; a chunked
 * body is returned as is); the body is decoded as UTF-8.
 */
export function parseResponse(raw: string): RawResponse {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let bytes = Buffer.from(split < 0 ? '' : raw.slice(split + 4), 'latin1');
  const length = Number(headers['content-length']);
  if (Number.isFinite(length)) bytes = bytes.subarray(0, length);
  const body = bytes.toString('utf8');
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, raw };
}

/** Opens a raw TCP connection to a test server (optionally from another loopback address). */
export function openSocket(port: number, options: { localAddress?: string } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes `text` (bytes as given) on a fresh connection and resolves with the first response
 * once the server closes the connection or the whole response arrived; `timeoutMs` bounds it.
 */
export async function rawRequest(port: number, text: string | Buffer, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  const socket = await openSocket(port, options);
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    let raw = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(raw));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      if (raw) resolve(parseResponse(raw));
      else reject(new Error(`no response within ${options.timeoutMs ?? 5_000} ms`));
    }, options.timeoutMs ?? 5_000);
    socket.on('data', (chunk) => {
      raw += chunk.toString('latin1');
      const parsed = parseResponse(raw);
      const length = Number(parsed.headers['content-length']);
      if (parsed.status && Number.isFinite(length) && Buffer.byteLength(parsed.body) >= length) done();
    });
    socket.on('close', done);
    socket.write(text);
  });
}

/** A minimal HTTP/1.1 request with a body and Content-Length. */
export const httpText = (method: string, path: string, headers: Record<string, string> = {}, body = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('') +
  (body || method === 'POST' ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '') +
  `\r\n${body}`;
