import type { ClientFrameOf, ServerFrame } from '../shared/protocol.js';
import type { StreamSink } from './chat-stream.js';

/** One stream on the shared socket. */
export interface Route {
  clientId: string;
  streamId: string | undefined;
  sink: StreamSink;
  /** Cancelled before the server's `start` named the stream: cancel as soon as it does. */
  cancelled: boolean;
  /** The `start` frame this route sent (with its idempotency key), sent again if the socket drops before the server names the stream. */
  start?: ClientFrameOf<'start'> | undefined;
}

/** Which stream a server frame belongs to: by the client id until `start` names the stream, then by stream id. */
export interface WsRoutes {
  /** A chat sent as `start` with this client id, not yet named by the server. */
  addPending(route: Route): void;
  /** A stream the server already named (`client.resume`); false when this socket already carries it. */
  addNamed(route: Route): boolean;
  /** The route of a frame; a `start` that echoes a client id binds the stream id to it (`bound`). */
  routeOf(frame: ServerFrame): { route: Route; bound: boolean } | undefined;
  forget(route: Route): void;
  /** Streams the server has not named yet: they start again with their idempotency key. */
  pending(): Route[];
  named(): Route[];
  all(): Route[];
  readonly size: number;
  clear(): void;
}

export function createWsRoutes(): WsRoutes {
  const pending = new Map<string, Route>();
  const streams = new Map<string, Route>();
  return {
    addPending: (route) => void pending.set(route.clientId, route),
    addNamed(route) {
      if (route.streamId === undefined || streams.has(route.streamId)) return false;
      streams.set(route.streamId, route);
      return true;
    },
    routeOf(frame) {
      if (frame.type === 'start' && frame.id !== undefined) {
        const route = pending.get(frame.id);
        if (route) {
          pending.delete(frame.id);
          route.streamId = frame.streamId;
          streams.set(frame.streamId, route);
          return { route, bound: true };
        }
      }
      // An error about a `start` the server refused may name the client id instead.
      const route = streams.get(frame.streamId) ?? pending.get(frame.streamId);
      return route && { route, bound: false };
    },
    forget(route) {
      pending.delete(route.clientId);
      if (route.streamId !== undefined && streams.get(route.streamId) === route) streams.delete(route.streamId);
    },
    pending: () => [...pending.values()],
    named: () => [...streams.values()],
    all: () => [...pending.values(), ...streams.values()],
    get size() {
      return pending.size + streams.size;
    },
    clear() {
      pending.clear();
      streams.clear();
    },
  };
}
