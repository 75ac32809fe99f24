import type { StreamRecord } from '../streams/hub.js';
import { corkForTurn, uncorkNow, type Corkable } from './turn-cork.js';
import { textFrame } from './ws-text-frame.js';

/** What the sender writes frames to: `ws`'s net.Socket under a WebSocket. */
type RawSocket = Corkable & { write(frame: Uint8Array, cb: (error?: Error | null) => void): boolean };

/** What the sender needs of a socket; `ws`'s WebSocket has it, a test double can too. */
export interface SenderSocket {
  readonly readyState: number;
  /** Bytes handed to the socket and not yet written to the network (`ws`: socket + sender buffers). */
  readonly bufferedAmount?: number | undefined;
  /** `cb` runs once the bytes left user space; the sender uses it as its `drain`. */
  send(data: string, cb?: (error?: Error) => void): void;
}

export interface WsSenderOptions {
  /** Above this many bytes in the socket's buffer, frames wait in the sender's queue, where tokens coalesce. */
  highWaterBytes: number;
  /** Above this many bytes (socket buffer + queue), `onOverflow` runs: the peer is too slow. */
  maxBufferedBytes: number;
  onOverflow: () => void;
}

export interface WsSender {
  /** Sends one frame of a stream's log, or queues it behind a slow reader. */
  record(record: StreamRecord): void;
  /** Sends a frame that is in no log (an error that answers a client frame), in order with the rest. */
  control(json: string): void;
  /** Sends a small frame ahead of the queue, past the high-water mark (the error that drops a slow view). */
  urgent(json: string): void;
  /** Forgets what is queued for a stream; returns the lowest seq forgotten, if any was. */
  discard(streamId: string): number | undefined;
  /** Hands everything queued to the socket, whatever its buffer holds (before a close). */
  flushAll(): void;
  /** Bytes waiting for this peer: the socket's buffer plus the queue. */
  readonly bufferedBytes: number;
  readonly queuedFrames: number;
}

const OPEN = 1;

/** Queued tokens of one stream merged into one frame: `firstSeq`..`seq`, their text joined. */
interface TokenItem {
  kind: 'token';
  streamId: string;
  firstSeq: number;
  seq: number;
  text: string;
  bytes: number;
}
type Item = TokenItem | { kind: 'frame'; streamId: string | undefined; seq: number; json: string; bytes: number };

const tokenJson = (item: TokenItem): string =>
  // The hub's key order: type, streamId, seq, then the body.
  JSON.stringify({ type: 'token', streamId: item.streamId, seq: item.seq, text: item.text });

/**
 * Writes frames to one socket with explicit backpressure. Below the high-water mark
 * a frame goes straight to the socket. Above it, frames wait here, and a token joins the
 * stream's token queued before it (text concatenated, last seq kept) unless another frame of
 * that stream came in between, so a slow reader gets fewer, larger frames and the same text.
 * Past `maxBufferedBytes` the owner is told, and drops its views: memory per peer is bounded.
 */
export function createWsSender(socket: SenderSocket, options: WsSenderOptions): WsSender {
  let queue: (Item | undefined)[] = [];
  let head = 0;
  let queuedBytes = 0;
  /** Per stream, its newest queued item when that is a token a later token may merge into. */
  const mergeable = new Map<string, TokenItem>();
  let overflowing = false;

  const socketBytes = () => socket.bufferedAmount ?? 0;
  const CORK_FLUSH_BYTES = 16_384;
  const socketOnWritten = () => pump(false);
  // Cork the TCP socket for the rest of this turn: frames sent together leave in one writev.
  // ws flushes every message on its own; at high token rates that syscall per frame was half
  // the server's CPU (bench: 100 streams x 2000 tok/s went from 93k to 200k tok/s delivered).
  // One nextTick uncorks every socket of the turn (turn-cork.ts, shared with SSE). `_socket` is
  // ws's own handle on the net.Socket; a socket without it (tests' mocks) is not corked.
  // With it, each message goes to the net.Socket as one ready-made frame (ws-text-frame.ts), in
  // order with what ws itself writes there (pings, the close frame): tokenwire's server never
  // compresses, so ws's sender holds nothing back that a frame could overtake.
  const raw = (socket as unknown as { _socket?: RawSocket })._socket;
  const write = (json: string) => {
    if (socket.readyState !== OPEN) return;
    if (!raw) {
      socket.send(json, socketOnWritten);
      return;
    }
    corkForTurn(raw);
    raw.write(textFrame(json), socketOnWritten);
    // Hold at most a few frames' worth: a long catch-up replay in one turn must leave as it is
    // written, or the corked bytes alone would trip MAX_BUFFERED_BYTES.
    if (socketBytes() >= CORK_FLUSH_BYTES) uncorkNow(raw);
  };

  function pump(all: boolean): void {
    while (head < queue.length && (all || socketBytes() < options.highWaterBytes)) {
      const item = queue[head] as Item;
      queue[head++] = undefined;
      queuedBytes -= item.bytes;
      if (item.kind === 'token') {
        if (mergeable.get(item.streamId) === item) mergeable.delete(item.streamId);
        write(tokenJson(item));
      } else {
        write(item.json);
      }
    }
    if (head === queue.length) {
      // Every write's callback lands here: an empty queue stays the same array.
      if (head > 0) queue = [];
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function enqueue(item: Item): void {
    queue.push(item);
    queuedBytes += item.bytes;
    checkBound();
  }

  function checkBound(): void {
    if (overflowing || socketBytes() + queuedBytes <= options.maxBufferedBytes) return;
    overflowing = true;
    try {
      options.onOverflow();
    } finally {
      overflowing = false;
    }
  }

  const mustQueue = () => head < queue.length || socketBytes() >= options.highWaterBytes;

  return {
    record({ frame, json }) {
      if (!mustQueue()) {
        write(json);
        return;
      }
      if (frame.type === 'token') {
        const last = mergeable.get(frame.streamId);
        if (last) {
          const added = Buffer.byteLength(JSON.stringify(frame.text)) - 2;
          last.text += frame.text;
          last.seq = frame.seq;
          last.bytes += added;
          queuedBytes += added;
          checkBound();
          return;
        }
        const item: TokenItem = { kind: 'token', streamId: frame.streamId, firstSeq: frame.seq, seq: frame.seq, text: frame.text, bytes: Buffer.byteLength(json) };
        mergeable.set(frame.streamId, item);
        enqueue(item);
        return;
      }
      mergeable.delete(frame.streamId);
      enqueue({ kind: 'frame', streamId: frame.streamId, seq: frame.seq, json, bytes: Buffer.byteLength(json) });
    },
    control(json) {
      if (!mustQueue()) {
        write(json);
        return;
      }
      // Nothing merges across it, so it arrives exactly where it was sent.
      mergeable.clear();
      enqueue({ kind: 'frame', streamId: undefined, seq: 0, json, bytes: Buffer.byteLength(json) });
    },
    urgent: write,
    discard(streamId) {
      let lowest: number | undefined;
      const kept: Item[] = [];
      for (let i = head; i < queue.length; i++) {
        const item = queue[i] as Item;
        if (item.streamId !== streamId) {
          kept.push(item);
          continue;
        }
        const seq = item.kind === 'token' ? item.firstSeq : item.seq;
        lowest = lowest === undefined ? seq : Math.min(lowest, seq);
        queuedBytes -= item.bytes;
      }
      mergeable.delete(streamId);
      queue = kept;
      head = 0;
      return lowest;
    },
    flushAll: () => pump(true),
    get bufferedBytes() {
      return socketBytes() + queuedBytes;
    },
    get queuedFrames() {
      return queue.length - head;
    },
  };
}
