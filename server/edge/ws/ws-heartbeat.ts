/** What the heartbeat needs of a socket (`ws`'s WebSocket has it). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: (this: PingableSocket) => void): unknown;
}

export interface Heartbeat {
  add(socket: PingableSocket): void;
  remove(socket: PingableSocket): void;
  stop(): void;
}

/**
 * Pings every socket each `intervalMs` and terminates one that did not answer the previous
 * ping: a dead peer or a reader that stopped reading frees its memory within two
 * intervals. One timer for all sockets; the interval also keeps proxies (nginx, ALB: 60 s) from
 * closing a quiet connection.
 */
export function createHeartbeat(intervalMs: number): Heartbeat {
  /** Socket → whether a ping is still unanswered. */
  const awaiting = new Map<PingableSocket, boolean>();

  const timer = setInterval(() => {
    for (const [socket, unanswered] of awaiting) {
      if (unanswered) {
        awaiting.delete(socket);
        socket.terminate();
        continue;
      }
      awaiting.set(socket, true);
      try {
        socket.ping();
      } catch {
        // A socket that is closing cannot ping; its `close` removes it.
      }
    }
  }, intervalMs);
  timer.unref();

  // One listener for every socket (`ws` calls it with the socket as `this`): no closure per socket.
  function socketOnPong(this: PingableSocket): void {
    if (awaiting.has(this)) awaiting.set(this, false);
  }

  return {
    add(socket) {
      awaiting.set(socket, false);
      socket.on('pong', socketOnPong);
    },
    remove(socket) {
      awaiting.delete(socket);
    },
    stop() {
      clearInterval(timer);
      awaiting.clear();
    },
  };
}
