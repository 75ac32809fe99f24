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
  /** Connections closed at once because `refusing` was true. */
  readonly refused: number;
  /** Connections let through so far. */
  readonly accepted: number;
  /** Closes every open connection (a network drop); new ones are let through unless `refusing`. */
  cut(): void;
  /** Holds the bytes of the connections open now, for good (a dead path TCP has not reported); new ones flow. */
  freezeOpen(): void;
  /** As `freezeOpen`, one way: what the target sends on the connections open now is held for good; what the client sends still arrives. */
  freezeOpenFromTarget(): void;
  close(): Promise<void>;
}

/** Starts a valve in front of `target` (a host and port on loopback). */
export async function startTcpValve(target: { host: string; port: number }): Promise<TcpValve> {
  const open = new Set<Socket>();
  const held: (() => void)[] = [];
  const stuck = new Set<Socket>();
  const upstreams = new Set<Socket>();
  let frozen = false;
  const valve = {
    port: 0,
    refusing: false,
    refused: 0,
    accepted: 0,
    cut() {
      for (const socket of open) socket.destroy();
    },
    freezeOpen() {
      for (const socket of open) stuck.add(socket);
    },
    freezeOpenFromTarget() {
      for (const socket of upstreams) stuck.add(socket);
    },
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
      if (stuck.has(from)) return;
      if (frozen) held.push(() => to.destroyed || to.write(chunk));
      else if (!to.destroyed) to.write(chunk);
    });
  const server = createServer((client) => {
    if (valve.refusing) {
      valve.refused++;
      return void client.destroy();
    }
    valve.accepted++;
    const upstream = connect(target.port, target.host);
    open.add(client).add(upstream);
    upstreams.add(upstream);
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      upstreams.delete(upstream);
    };
    client.on('close', end).on('error', () => {});
    upstream.on('close', end).on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  valve.port = (server.address() as AddressInfo).port;
  return valve;
}
