import type { Request, Response } from 'express';
import { authRequestOf } from '../auth/authenticator.js';
import { streamTokenOf } from '../auth/stream-access.js';
import type { Core } from '../core.js';
import type { Stream } from '../streams/hub.js';
import { serveSse } from '../transports/sse.js';

/**
 * Views a stream over SSE with the process's settings, counted as an open SSE connection
 * until the response closes, and as a resume (with the frames replayed) when `afterSeq >= 0`.
 */
export function serveStreamSse(core: Pick<Core, 'config' | 'metrics'>, res: Response, stream: Stream, afterSeq: number): void {
  const { config, metrics } = core;
  metrics.connectionsOpen.inc({ transport: 'sse' });
  res.once('close', () => metrics.connectionsOpen.dec({ transport: 'sse' }));
  if (afterSeq >= 0) {
    metrics.resumes.inc({ transport: 'sse' });
    metrics.replayedFrames.inc({ transport: 'sse' }, Math.max(0, stream.lastSeq - afterSeq));
  }
  void serveSse(res, stream, {
    heartbeatMs: config.HEARTBEAT_MS,
    retryMs: config.SSE_RETRY_MS,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    afterSeq,
    onSlowConsumer: () => metrics.slowConsumers.inc({ transport: 'sse' }),
  });
}

/** The stream token a request shows; the old `Authorization: Bearer` only while AUTH=none (protocol 1, deprecated). */
export const streamTokenFor = (core: Pick<Core, 'config'>, req: Request): string | undefined => streamTokenOf(authRequestOf(req), core.config.AUTH === 'none');
