import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy on loopback that can hold every byte (a frozen peer) and refuse new connections (a peer that cannot reconnect). */
export interface TcpValve {
  /** `127.0.0.1:<port>`'s port: point a client here instead of at the target. */
  port: number;
  /** Holds the bytes of every connection, both ways, until `thaw` (the TCP connections stay up, as with SIGSTOP). */
  freeze(): void;
  /** Sends what was held, in order, and lets bytes through again. */
  thaw(): void;
  /** While true, new connections are closed at once. */
  refusing: boolean;
  close(): Promise<void>;
}

/** Starts a valve in front of `target` (a host and port on loopback). */
export async function startTcpValve(target: { host: string; port: number }): Promise<TcpValve> {
  const open = new Set<Socket>();
  const held: (() => void)[] = [];
  let frozen = false;
  const valve = {
    port: 0,
    refusing: false,
    freeze: () => void (frozen = true),
    thaw() {
      frozen = false;
      for (const flush of held.splice(0)) flush();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const pipe = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (frozen) held.push(() => to.destroyed || to.write(chunk));
      else if (!to.destroyed) to.write(chunk);
    });
  const server = createServer((client) => {
    if (valve.refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    open.add(client).add(upstream);
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', end).on('error', () => {});
    upstream.on('close', end).on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  valve.port = (server.address() as AddressInfo).port;
  return valve;
}
