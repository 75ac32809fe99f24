import type { Express, Request, Response } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import { mayAccessStream } from '../auth/stream-access.js';
import type { Core } from '../core.js';
import { sendHttpError } from './http-errors.js';
import { identityOf } from './identify.js';
import { serveStreamSse, streamTokenFor } from './sse-view.js';

/**
 * Routes on a stream that already exists: `GET /api/streams/:id` views it again over SSE from
 * `Last-Event-ID` (or `?lastSeq=`), and `DELETE /api/streams/:id` cancels it. Both need the
 * stream's subject, or for an anonymous stream its token (`X-Stream-Token` or `?token=`): the
 * stream id travels in headers and logs, the token only to the client that started it.
 */
export function addStreamRoutes(app: Express, core: Core): void {
  const fail = (res: Response, error: TokenwireError) => sendHttpError(res, error, core.metrics);
  const find = (req: Request, res: Response) => {
    const stream = core.hub.get(String(req.params.id));
    if (!stream) {
      fail(res, new TokenwireError('unknown_stream', 'No such stream: it never existed or is no longer kept.'));
      return undefined;
    }
    if (!mayAccessStream(stream, identityOf(res).subject, streamTokenFor(core, req))) {
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
    serveStreamSse(core, res, stream, Number(raw));
  });

  app.delete('/api/streams/:id', (req, res) => {
    const stream = find(req, res);
    if (!stream) return;
    const wasRunning = !stream.done;
    stream.abort('cancelled');
    res.json({ ok: true, cancelled: wasRunning });
  });
}
