import type { RequestHandler, Response } from 'express';
import { TokenwireError } from '../../../shared/errors.js';
import { authRequestOf, type Authenticator } from '../../access/authenticator.js';
import type { Identity } from '../../access/stream-access.js';
import type { Metrics } from '../../observability/metrics.js';
import { sendHttpError } from '../http-errors.js';

/** The identity `identify` put on the response, for the routes after it. */
export const identityOf = (res: Response): Identity => (res.locals.identity as Identity | undefined) ?? { subject: undefined, address: 'unknown' };

/**
 * Middleware that asks the authenticator who is calling and keeps the
 * answer, with the client's address, for the routes after it; 401 when authentication is
 * required and there is no subject.
 */
export function identify(deps: { auth: Authenticator; metrics: Metrics }, addressOf: (req: Parameters<RequestHandler>[0]) => string): RequestHandler {
  return async (req, res, next) => {
    const subject = await deps.auth.authenticate(authRequestOf(req));
    if (subject === null && deps.auth.required) {
      sendHttpError(res, new TokenwireError('unauthorized', 'This request needs authentication: a valid session or bearer token.'), deps.metrics);
      return;
    }
    res.locals.identity = { subject: subject ?? undefined, address: addressOf(req) } satisfies Identity;
    next();
  };
}
