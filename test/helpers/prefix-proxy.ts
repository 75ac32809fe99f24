import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface PrefixProxy {
  /** `http://127.0.0.1:<port>`, without the prefix. */
  url: string;
  /** The path (with query) of every request and upgrade the proxy received, as the client sent it. */
  readonly seen: readonly string[];
  close(): Promise<void>;
}

/**
 * A reverse proxy on loopback that serves a server under a prefix, as an app that mounts
 * tokenwire at `/tw` or an ingress with a path rewrite does: `/tw/…` goes to the server as `/…`,
 * requests and WebSocket upgrades alike; anything else is answered 404 here. Bodies are piped
 * as they come, so SSE streams through.
 */
export async function startPrefixProxy(target: { host: string; port: number }, prefix: string): Promise<PrefixProxy> {
  const seen: string[] = [];
  const agent = new Agent({ keepAlive: true });
  const tunnels = new Set<Socket>();
  const strip = (url = '/'): string | undefined =>
    url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`) ? url.slice(prefix.length) || '/' : undefined;

  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const path = strip(req.url);
    if (path === undefined) return void res.writeHead(404).end(`not under ${prefix}\n`);
    const upstream = request({ host: target.host, port: target.port, method: req.method, path, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    // The client went away (a cancelled fetch, a dropped SSE body): so does the upstream request.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(req.url ?? '');
    const path = strip(req.url);
    if (path === undefined) return void client.end(`HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    const upstream = connect(target.port, target.host, () => {
      const headers = req.rawHeaders.map((value, i) => (i % 2 === 0 ? `${value}: ` : `${value}\r\n`)).join('');
      upstream.write(`${req.method} ${path} HTTP/1.1\r\n${headers}\r\n`);
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    tunnels.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      tunnels.delete(client);
      tunnels.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of tunnels) socket.destroy();
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
