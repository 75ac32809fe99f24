import type { Express } from 'express';
import { TokenwireError } from '../../../shared/errors.js';
import { canControl } from '../../access/stream-access.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { ApprovalAudit } from '../../engine/approval-audit.js';
import type { Metrics } from '../../observability/metrics.js';
import type { StreamControl } from '../../service/stream-control.js';
import { sendHttpError } from '../http-errors.js';
import { identityOf } from './identify.js';
import { streamTokenFor } from './sse-view.js';

/**
 * `GET /api/streams/:id/approvals`: the stream's approval audit records, oldest first, for
 * whoever may view the stream (its subject, or the holder of its stream token).
 */
export function addAuditRoutes(app: Express, deps: { control: StreamControl; audit: ApprovalAudit; auth: Authenticator; metrics: Metrics }): void {
  app.get('/api/streams/:id/approvals', async (req, res) => {
    const stream = await deps.control.findStream(req.params.id);
    if (!stream) {
      sendHttpError(res, new TokenwireError('unknown_stream', 'No such stream: it never existed or is no longer kept.'), deps.metrics);
      return;
    }
    if (!canControl(stream, { subject: identityOf(res).subject, token: streamTokenFor(deps, req) })) {
      sendHttpError(res, new TokenwireError('forbidden', 'This stream is not yours: it belongs to another user, or needs its stream token from the start frame.'), deps.metrics);
      return;
    }
    res.json({ streamId: stream.id, approvals: await deps.audit.forStream(stream.id) });
  });
}
