import type { ServerFrame } from '../shared/protocol.js';

/** A frame as it came off the wire, for inspectors and debugging. */
export interface WireFrame {
  /** The frame's place in its stream (an error frame outside the log may repeat the seq before it). */
  seq: number;
  /** The frame's type: `start`, `token`, `reasoning`, `tool_call`, `tool_result`, `error` or `done`. */
  type: ServerFrame['type'];
  /** The frame's text on the wire: the SSE event (`id:`, `event:`, `data:` lines) or the WebSocket message. */
  raw: string;
  /** ms since the stream started (the stream's clock). */
  atMs: number;
}

/** Frames a stream keeps for `recentFrames()` by default. */
export const RECENT_FRAMES = 50;

/** The last `limit` frames of a stream, oldest first; a bounded ring, so a long stream costs nothing more. */
export function createFrameLog(limit = RECENT_FRAMES): { add(frame: WireFrame): void; list(): WireFrame[] } {
  const ring: WireFrame[] = [];
  let next = 0;
  return {
    add(frame) {
      if (limit <= 0) return;
      if (ring.length < limit) ring.push(frame);
      else ring[next] = frame;
      next = (next + 1) % limit;
    },
    list: () => (ring.length < limit ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)]),
  };
}
