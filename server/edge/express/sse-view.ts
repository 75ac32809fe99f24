import type { Request, Response } from 'express';
import { authRequestOf, type Authenticator } from '../../access/authenticator.js';
import { streamTokenOf } from '../../access/stream-access.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Config } from '../../settings/config.js';
import type { StreamLog } from '../../streams/hub.js';
import { serveSse } from '../../views/sse.js';

/** The settings an SSE view of a tokenwire stream reads. */
export type SseViewConfig = Pick<Config, 'HEARTBEAT_MS' | 'SSE_RETRY_MS' | 'MAX_BUFFERED_BYTES'>;

/**
 * Views a stream over SSE with the process's settings, counted as an open SSE connection
 * until the response closes, and as a resume (with the frames replayed) when `afterSeq >= 0`.
 */
export function serveStreamSse(deps: { config: SseViewConfig; metrics: Metrics }, res: Response, stream: StreamLog, afterSeq: number): void {
  const { config, metrics } = deps;
  const counted = countedBy(metrics);
  // The view outlives its route: Express's continuation (`req.next`, with the router's state
  // and closures, ~0.5 KiB) is never called again.
  res.req.next = undefined;
  metrics.connectionsOpen.inc({ transport: 'sse' });
  // `close` comes once: `on` spares the wrapper `once` makes per response.
  res.on('close', counted.resOnClose);
  if (afterSeq >= 0) {
    metrics.resumes.inc({ transport: 'sse' });
    metrics.replayedFrames.inc({ transport: 'sse' }, Math.max(0, stream.lastSeq - afterSeq));
  }
  void serveSse(res, stream, {
    heartbeatMs: config.HEARTBEAT_MS,
    retryMs: config.SSE_RETRY_MS,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    afterSeq,
    onSlowConsumer: counted.onSlowConsumer,
  });
}

/** The metric callbacks of every SSE view of one process, made once (none per stream). */
const callbacks = new WeakMap<Metrics, { resOnClose: () => void; onSlowConsumer: () => void }>();

function countedBy(metrics: Metrics): { resOnClose: () => void; onSlowConsumer: () => void } {
  let made = callbacks.get(metrics);
  if (!made) {
    made = {
      resOnClose: () => metrics.connectionsOpen.dec({ transport: 'sse' }),
      onSlowConsumer: () => metrics.slowConsumers.inc({ transport: 'sse' }),
    };
    callbacks.set(metrics, made);
  }
  return made;
}

/** The stream token a request shows; the old `Authorization: Bearer` only while AUTH=none (protocol 1, deprecated). */
export const streamTokenFor = (deps: { auth: Authenticator }, req: Request): string | undefined => streamTokenOf(authRequestOf(req), !deps.auth.required);
