import type { IncomingMessage } from 'node:http';
import { TokenwireError } from '../../../shared/errors.js';

/** What a refused opening handshake is answered with: the error, and any header the RFC asks for. */
export interface HandshakeRefusal {
  error: TokenwireError;
  headers?: Record<string, string>;
}

/** A base64-encoded 16-byte nonce (RFC 6455 §4.1, item 7). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** 13 is RFC 6455's; `ws` also speaks 8 (the last draft), so both are offered. */
const VERSIONS = new Set(['13', '8']);

/**
 * Checks the client's opening handshake (RFC 6455 §4.1, §4.2.1) before `ws` sees it, so that a
 * bad one is answered with tokenwire's JSON error body: `ws` would write its own text/html page.
 */
export function handshakeRefusal(req: IncomingMessage): HandshakeRefusal | undefined {
  const refuse = (message: string, headers?: Record<string, string>): HandshakeRefusal => ({ error: new TokenwireError('invalid_request', message), ...(headers ? { headers } : {}) });
  if (req.method !== 'GET') return { error: new TokenwireError('method_not_allowed', 'A WebSocket opens with a GET request (RFC 6455 §4.1).') };
  if (req.headers.host === undefined) return refuse('The Host header is required (RFC 6455 §4.1).');
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return refuse('The Upgrade header must be "websocket" (RFC 6455 §4.1).');
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key.trim())) return refuse('The Sec-WebSocket-Key header must be a base64-encoded 16-byte nonce (RFC 6455 §4.1).');
  const version = req.headers['sec-websocket-version']?.trim();
  if (version === undefined || !VERSIONS.has(version)) return refuse('The Sec-WebSocket-Version header must be 13 (RFC 6455 §4.4).', { 'Sec-WebSocket-Version': '13, 8' });
  return undefined;
}
