import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CuttingProxy {
  /** `http://127.0.0.1:<port>`: point a client here instead of at the server. */
  url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Connections opened so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export interface CuttingProxyOptions {
  /** The server behind the proxy. */
  target: { host: string; port: number };
  /** Each connection is cut after a number of server → client bytes drawn from [min, max]. */
  cutAfterBytes: { min: number; max: number };
  /** Seed of the draws, so a failing run can be replayed. */
  seed: number;
  /**
   * Cuts the first `connections` connections at the first byte the server sends in answer to
   * the client's `request`-th message (a run of client bytes between server bytes): that
   * request reached the server, nothing of its answer reaches the client. An HTTP
   * POST is request 1; a WebSocket's first frame after the upgrade is request 2.
   */
  cutBeforeAnswer?: { connections: number; request: number };
}

/** mulberry32: a small seeded PRNG, so the cut points are reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A TCP proxy on loopback that cuts every connection at a random point of the server's
 * answer: both sockets are destroyed mid-stream (mid-frame, mid-chunk), as a dropped mobile
 * connection or a restarted load balancer does. Bytes before the cut pass unchanged.
 */
export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const next = random(options.seed);
  const open = new Set<Socket>();
  let cuts = 0;
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    const upstream = connect(options.target.port, options.target.host);
    open.add(client).add(upstream);
    const { min, max } = options.cutAfterBytes;
    let left = Math.floor(min + next() * (max - min));
    const cutsAnswer = options.cutBeforeAnswer !== undefined && connections <= options.cutBeforeAnswer.connections;
    /** Client messages so far: runs of client bytes, each ended by server bytes. */
    let requests = 0;
    let clientSpoke = false;
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (client.destroyed) return;
      if (clientSpoke) requests++;
      clientSpoke = false;
      if (cutsAnswer && requests >= (options.cutBeforeAnswer?.request ?? 1)) {
        upstream.pause();
        return cut();
      }
      if (chunk.length >= left) {
        client.write(chunk.subarray(0, left), cut);
        left = 0;
        upstream.pause();
        return;
      }
      left -= chunk.length;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      clientSpoke = true;
      upstream.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
