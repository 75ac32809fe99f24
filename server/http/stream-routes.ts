import type { Express, Request, Response } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import type { Core } from '../core.js';
import { serveSse } from '../transports/sse.js';
import { bearerOf, cancelStream, findStream, parseResumePoint } from './stream-requests.js';

const fail = (res: Response, error: TokenwireError) => res.status(error.status).json(error.toJSON());

/** The token in `Authorization: Bearer <token>`, if the request has one. */
export const bearerToken = (req: Request): string | undefined => bearerOf(req.get('authorization'));

/** The stream's token from `Authorization: Bearer` or `?token=` (EventSource cannot set headers). */
const tokenOf = (req: Request): string | undefined =>
  bearerToken(req) ?? (typeof req.query.token === 'string' ? req.query.token : undefined);

/**
 * Routes on a stream that already exists: `GET /api/streams/:id` views it again over SSE from
 * `Last-Event-ID` (or `?lastSeq=`): 204 after `done`, `resume_ahead` past its end,
 * `stream_expired` before what is kept. `DELETE /api/streams/:id` cancels it at once. Both
 * need the stream's token from its `start` frame.
 */
export function addStreamRoutes(app: Express, core: Core): void {
  app.get('/api/streams/:id', (req, res) => {
    const afterSeq = parseResumePoint(req.get('last-event-id') ?? (typeof req.query.lastSeq === 'string' ? req.query.lastSeq : undefined));
    if (afterSeq instanceof TokenwireError) return void fail(res, afterSeq);
    const stream = findStream(core, String(req.params.id), tokenOf(req));
    if (stream instanceof TokenwireError) return void fail(res, stream);
    void serveSse(res, stream, {
      heartbeatMs: core.config.HEARTBEAT_MS,
      retryMs: core.config.SSE_RETRY_MS,
      maxBufferedBytes: core.config.MAX_BUFFERED_BYTES,
      afterSeq,
    });
  });

  app.delete('/api/streams/:id', (req, res) => {
    const stream = findStream(core, String(req.params.id), tokenOf(req));
    if (stream instanceof TokenwireError) return void fail(res, stream);
    res.json(cancelStream(stream));
  });
}
