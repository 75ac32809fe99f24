import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client's address for per-client limits: the socket's peer, or, through proxies named in
 * TRUST_PROXY (proxy-addr's names and CIDRs), the address they forwarded in X-Forwarded-For.
 */
export function createAddressOf(trustProxy: readonly string[]): (request: IncomingMessage) => string {
  // No proxy is trusted: the peer is the client, and X-Forwarded-For is not read (a start's
  // work). proxy-addr answers the same, after parsing the header.
  if (trustProxy.length === 0) return (request) => request.socket?.remoteAddress ?? 'unknown';
  const trust = proxyaddr.compile([...trustProxy]);
  return (request) => {
    try {
      return proxyaddr(request, trust);
    } catch {
      // A request with no socket address (a test double, a destroyed socket).
      return 'unknown';
    }
  };
}
