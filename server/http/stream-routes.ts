import type { Express, Request, Response } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import type { Core } from '../core.js';
import { approvalTokenMatches } from '../engine/approvals.js';
import { serveSse } from '../transports/sse.js';

const fail = (res: Response, error: TokenwireError) => res.status(error.status).json(error.toJSON());

/** The token in `Authorization: Bearer <token>`, if the request has one. */
export const bearerToken = (req: Request): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];

/** The stream's token from `Authorization: Bearer` or `?token=` (EventSource cannot set headers). */
const tokenOf = (req: Request): string | undefined =>
  bearerToken(req) ?? (typeof req.query.token === 'string' ? req.query.token : undefined);

/**
 * Routes on a stream that already exists: `GET /api/streams/:id` views it again over SSE from
 * `Last-Event-ID` (or `?lastSeq=`), and `DELETE /api/streams/:id` cancels it. Both need the
 * stream's token from its `start` frame: the stream id travels in headers and logs, the token
 * only to the client that started it.
 */
export function addStreamRoutes(app: Express, core: Core): void {
  const find = (req: Request, res: Response) => {
    const stream = core.hub.get(String(req.params.id));
    if (!stream) {
      fail(res, new TokenwireError('unknown_stream', 'No such stream: it never existed or is no longer kept.'));
      return undefined;
    }
    if (!approvalTokenMatches(stream.approvalToken, tokenOf(req))) {
      fail(res, new TokenwireError('forbidden', 'A valid token for this stream is required.'));
      return undefined;
    }
    return stream;
  };

  app.get('/api/streams/:id', (req, res) => {
    const raw = req.get('last-event-id') ?? (typeof req.query.lastSeq === 'string' ? req.query.lastSeq : '-1');
    if (!/^-?\d{1,15}$/.test(raw.trim()) || Number(raw) < -1) {
      fail(res, new TokenwireError('invalid_request', 'Last-Event-ID must be a frame seq (a whole number).'));
      return;
    }
    const stream = find(req, res);
    if (!stream) return;
    serveSse(res, stream, {
      heartbeatMs: core.config.HEARTBEAT_MS,
      retryMs: core.config.SSE_RETRY_MS,
      maxBufferedBytes: core.config.MAX_BUFFERED_BYTES,
      afterSeq: Number(raw),
    });
  });

  app.delete('/api/streams/:id', (req, res) => {
    const stream = find(req, res);
    if (!stream) return;
    const wasRunning = !stream.done;
    stream.abort('cancelled');
    res.json({ ok: true, cancelled: wasRunning });
  });
}
