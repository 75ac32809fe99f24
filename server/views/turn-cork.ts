/** What the cork needs of a socket: Node's net.Socket (and any Writable) has it. */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writableCorked: number;
}

let corked: Corkable[] = [];

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/**
 * Corks `socket` until the end of this turn of the event loop, on SSE as on
 * WebSocket: frames written to it in this turn leave in one writev. One `nextTick` uncorks every
 * socket corked in the turn; Node's `res.write` otherwise corks and schedules its own per write.
 * A socket already corked (by us or its owner) is left as it is.
 */
export function corkForTurn(socket: Corkable): void {
  if (socket.writableCorked > 0) return;
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}

/** Uncorks `socket` now if this turn's cork holds it (a long replay must leave as it is written). */
export function uncorkNow(socket: Corkable): void {
  const at = corked.indexOf(socket);
  if (at < 0) return;
  corked.splice(at, 1);
  socket.uncork();
}
