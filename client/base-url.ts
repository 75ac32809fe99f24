const example = '"https://chat.example.com" or "https://example.com/tw"';

/**
 * Checks a client's `baseUrl`: an absolute `http:` or `https:` URL whose path (possibly `/`) is
 * where tokenwire is mounted. A query or fragment is refused: no route could keep it, and a
 * silently dropped `?tenant=` would be worse than an error.
 *
 * @returns the parsed URL.
 * @throws TypeError saying what is wrong with it.
 */
export function checkBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL; give one such as ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} must be an http: or https: URL, such as ${example}`);
  }
  // `href`, not `search`/`hash`: those are '' for a bare trailing '?' or '#' too.
  if (/[?#]/.test(url.href)) {
    throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} must not have a query or fragment: it is where tokenwire is mounted, such as ${example}`);
  }
  return url;
}

/**
 * The URL of `path` under `baseUrl`, keeping the base URL's path: `('http://h/tw', '/api/chat')`
 * and `('http://h/tw/', 'api/chat')` are both `http://h/tw/api/chat`. `new URL('/api/chat', base)`
 * would drop `/tw` (an absolute path replaces the base's, RFC 3986 §5.2.2).
 *
 * @param path - a path only, already percent-encoded where it needs to be; a leading `/` is optional.
 * @throws TypeError when `baseUrl` fails `checkBaseUrl`, or `path` has a scheme, query or fragment.
 */
export function joinUrl(baseUrl: string, path: string): URL {
  const url = checkBaseUrl(baseUrl);
  if (/[?#]/.test(path) || /^[a-z][a-z\d+.-]*:/i.test(path)) {
    throw new TypeError(`${JSON.stringify(path)} must be a path under baseUrl, without a scheme, query or fragment`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return url;
}

/**
 * `joinUrl` for a WebSocket: `http:` becomes `ws:`, `https:` becomes `wss:`.
 * `('https://h/tw', '/ws')` is `wss://h/tw/ws`.
 *
 * @throws TypeError as `joinUrl` does.
 */
export function toWebSocketUrl(baseUrl: string, path: string): string {
  const url = joinUrl(baseUrl, path);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
