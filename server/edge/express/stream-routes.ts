import type { Express, Request, Response } from 'express';
import { TokenwireError } from '../../../shared/errors.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { Metrics } from '../../observability/metrics.js';
import type { StreamControl } from '../../service/stream-control.js';
import { sendHttpError } from '../http-errors.js';
import { identityOf } from './identify.js';
import { serveStreamSse, streamTokenFor, type SseViewConfig } from './sse-view.js';
import { cancelStream, findStream, parseResumePoint, type StreamAccess } from '../../service/stream-requests.js';

/** Who asks: the request's subject and the stream token it shows. */
export const accessOf = (deps: { auth: Authenticator }, req: Request, res: Response): StreamAccess => ({
  subject: identityOf(res).subject,
  token: streamTokenFor(deps, req),
});

/**
 * Routes on a stream that already exists: `GET /api/streams/:id` views it again over SSE from
 * `Last-Event-ID` (or `?lastSeq=`): 204 after `done`, `resume_ahead` past its end,
 * `stream_expired` before what is kept. `DELETE /api/streams/:id` cancels it at once. Both
 * need the stream's subject, or for an anonymous stream its token (`X-Stream-Token` or `?token=`).
 */
export function addStreamRoutes(app: Express, deps: { control: StreamControl; auth: Authenticator; metrics: Metrics; config: SseViewConfig }): void {
  const fail = (res: Response, error: TokenwireError) => sendHttpError(res, error, deps.metrics);

  app.get('/api/streams/:id', async (req, res) => {
    const afterSeq = parseResumePoint(req.get('last-event-id') ?? (typeof req.query.lastSeq === 'string' ? req.query.lastSeq : undefined));
    if (afterSeq instanceof TokenwireError) return void fail(res, afterSeq);
    const stream = await findStream(deps.control, String(req.params.id), accessOf(deps, req, res));
    if (stream instanceof TokenwireError) return void fail(res, stream);
    serveStreamSse(deps, res, stream, afterSeq);
  });

  app.delete('/api/streams/:id', async (req, res) => {
    const stream = await findStream(deps.control, String(req.params.id), accessOf(deps, req, res));
    if (stream instanceof TokenwireError) return void fail(res, stream);
    const cancelled = await cancelStream(stream);
    if (cancelled instanceof TokenwireError) return void fail(res, cancelled);
    res.json(cancelled);
  });
}
