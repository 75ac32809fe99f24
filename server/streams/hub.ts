import { TokenwireError } from '../../shared/errors.js';
import { newApprovalToken, newStreamId } from '../../shared/ids.js';
import { PROTOCOL_MINOR, PROTOCOL_VERSION, type FrameBody, type ServerFrame, type Transport } from '../../shared/protocol.js';
import type { Logger } from '../log.js';
import { createMemoryLog, type StreamRecord } from './memory-log.js';

export type { StreamRecord };

/** Why a stream's generation was aborted: the engine turns this into its last frames. */
export type AbortCause = 'client_gone' | 'cancelled' | 'shutdown' | 'slow_consumer';

export class StreamAbort extends Error {
  constructor(readonly abortCause: AbortCause) {
    super(`stream aborted: ${abortCause}`);
    this.name = 'StreamAbort';
  }
}

export type StreamListener = (record: StreamRecord) => void;

/** One generation: a numbered log of frames that transports view, and the abort switch for its model request. */
export interface Stream {
  readonly id: string;
  /** Aborts the upstream model request and any running tool. */
  readonly signal: AbortSignal;
  /** The stream's capability for anonymous use (`streamToken` on the wire). */
  readonly approvalToken: string;
  /** The authenticated subject that started the stream; only it may view or control it. */
  readonly subject: string | undefined;
  readonly createdAt: number;
  done: boolean;
  lastSeq: number;
  /** When the generation was aborted (performance.now()), for the disconnect-to-abort figure. */
  abortedAt: number | undefined;
  /** Appends a frame; after `done` it is ignored and returns undefined. */
  append(body: FrameBody): StreamRecord | undefined;
  readFrom(afterSeq: number): StreamRecord[] | undefined;
  subscribe(listener: StreamListener): () => void;
  /** A view attaches; when the last one detaches before `done`, generation stops after the grace window. */
  attachViewer(): () => void;
  abort(cause: AbortCause): void;
}

export interface HubOptions {
  maxFrames: number;
  ttlMs: number;
  maxStreams: number;
  log: Logger;
  onDone?: (stream: Stream, frame: Extract<ServerFrame, { type: 'done' }>) => void;
}

export interface CreateStreamOptions {
  model: string;
  transport: Transport;
  clientId?: string | undefined;
  /** How long to keep generating with no viewer, so the client can resume. 0: abort at once. */
  graceMs?: number | undefined;
  /** The authenticated subject starting it (issue 12); undefined for anonymous use. */
  subject?: string | undefined;
}

export interface Hub {
  create(options: CreateStreamOptions): Stream;
  get(id: string): Stream | undefined;
  /** Streams still generating. */
  active(): Stream[];
  abortAll(cause: AbortCause): void;
  readonly size: number;
  /** Bytes of frames kept in every stream's log (issue 12's retained-bytes metric). */
  retainedBytes(): number;
  close(): void;
}

/** Streams by id, each with its log, its viewers and the policy that aborts a stream nobody watches. */
export function createHub(options: HubOptions): Hub {
  const streams = new Map<string, Stream>();
  const logs = new Map<string, { readonly bytes: number }>();
  const timers = new Set<NodeJS.Timeout>();
  let live = 0;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  };

  function create({ model, transport, clientId, graceMs = 0, subject }: CreateStreamOptions): Stream {
    if (live >= options.maxStreams) throw new TokenwireError('too_many_streams');
    live++;

    const id = newStreamId();
    const controller = new AbortController();
    const log = createMemoryLog(options.maxFrames);
    const listeners = new Set<StreamListener>();
    let viewers = 0;
    let graceTimer: NodeJS.Timeout | undefined;

    const stream: Stream = {
      id,
      signal: controller.signal,
      approvalToken: newApprovalToken(),
      subject,
      createdAt: Date.now(),
      done: false,
      lastSeq: -1,
      abortedAt: undefined,
      append(body) {
        if (stream.done) return undefined;
        const seq = ++stream.lastSeq;
        // `type` first on the wire, then the stream's coordinates, then the body.
        const frame = Object.assign({ type: body.type, streamId: id, seq }, body) as ServerFrame;
        const record: StreamRecord = { frame, json: JSON.stringify(frame) };
        log.append(record);
        if (frame.type === 'done') {
          stream.done = true;
          live--;
          if (graceTimer) clearTimeout(graceTimer);
          later(options.ttlMs, () => {
            streams.delete(id);
            logs.delete(id);
          });
          options.onDone?.(stream, frame);
        }
        for (const listener of listeners) {
          try {
            listener(record);
          } catch (error) {
            options.log.error({ err: error, streamId: id }, 'stream listener failed');
          }
        }
        return record;
      },
      readFrom: (afterSeq) => log.readFrom(afterSeq),
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      attachViewer() {
        viewers++;
        if (graceTimer) {
          clearTimeout(graceTimer);
          timers.delete(graceTimer);
          graceTimer = undefined;
        }
        let attached = true;
        return () => {
          if (!attached) return;
          attached = false;
          if (--viewers > 0 || stream.done) return;
          if (graceMs <= 0) stream.abort('client_gone');
          else graceTimer = later(graceMs, () => viewers === 0 && stream.abort('client_gone'));
        };
      },
      abort(cause) {
        if (controller.signal.aborted || stream.done) return;
        stream.abortedAt = performance.now();
        controller.abort(new StreamAbort(cause));
      },
    };
    streams.set(id, stream);
    logs.set(id, log);
    stream.append({
      type: 'start',
      protocol: PROTOCOL_VERSION,
      protocolMinor: PROTOCOL_MINOR,
      model,
      transport,
      ...(clientId !== undefined ? { id: clientId } : {}),
      streamToken: stream.approvalToken,
      // Protocol 1's name, for one version (see PROTOCOL_VERSION).
      approvalToken: stream.approvalToken,
    });
    return stream;
  }

  return {
    create,
    get: (id) => streams.get(id),
    active: () => [...streams.values()].filter((s) => !s.done),
    abortAll(cause) {
      for (const s of streams.values()) s.abort(cause);
    },
    get size() {
      return streams.size;
    },
    retainedBytes() {
      let total = 0;
      for (const log of logs.values()) total += log.bytes;
      return total;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
