import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Config } from '../../settings/config.js';
import { createAddressOf } from '../client-address.js';
import { sendHttpError, toHttpError } from '../http-errors.js';
import { identify, identityOf } from '../express/identify.js';
import { answerStartOnResponse, viewOnResponse } from '../../views/sse.js';
import type { InteropAnswer, InteropCaller, InteropService } from '../../service/interop/interop-service.js';

/** What the interop routes on Express use beside their service: who asks, and the view's settings. */
export interface InteropExpressDeps {
  auth: Authenticator;
  metrics: Metrics;
  log: Logger;
  config: Pick<Config, 'TRUST_PROXY' | 'HEARTBEAT_MS' | 'MAX_BUFFERED_BYTES'>;
}

/**
 * Registers the interop routes on an Express router, with their absolute paths
 * (`/api/ai-sdk/chat`, `/api/ai-sdk/chat/:id/stream`, `/api/ag-ui`), for `router` mounted
 * under any prefix. The routes answer their own errors and identify the caller unless an
 * earlier middleware did (the app's `identify` on /api): mounted alone they are not anonymous.
 */
export function addInteropExpressRoutes(router: Router, deps: InteropExpressDeps, service: InteropService): void {
  const { config, log } = deps;
  const parseJson = express.json({ limit: '1mb' });
  const fail = (res: Response, error: TokenwireError) => sendHttpError(res, error, deps.metrics);
  const identifyOnce = identify(deps, createAddressOf(config.TRUST_PROXY));
  const identified: RequestHandler = (req, res, next) => (res.locals.identity ? next() : identifyOnce(req, res, next));
  // The body's errors (too large, not JSON) answered here as the app answers them.
  const json: RequestHandler = (req, res, next) =>
    parseJson(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const known = toHttpError(error);
      if (known.code === 'internal') log.error({ err: error }, 'interop request failed');
      fail(res, known);
    });

  const callerOf = (req: Request, res: Response): InteropCaller => ({
    identity: identityOf(res),
    lastEventId: req.get('last-event-id'),
    gone: () => res.destroyed,
  });
  const answer = (res: Response, result: InteropAnswer) => {
    if (result.kind === 'json') return void res.json(result.body);
    if (result.kind === 'no_content') return void res.status(204).end();
    if (result.kind === 'not_viewed') return answerStartOnResponse(res, result.start);
    const { view } = result;
    viewOnResponse(res, view.start, view.streamId, {
      heartbeatMs: config.HEARTBEAT_MS,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      afterSeq: view.afterSeq,
      encoder: view.encoder,
      headers: view.headers,
    });
  };
  const run = (res: Response, work: () => Promise<InteropAnswer>) => {
    work().then(
      (result) => answer(res, result),
      (error: unknown) => {
        const known = toTokenwireError(error);
        if (known.code === 'internal') log.error({ err: error }, 'interop request failed');
        if (res.headersSent) res.end();
        else fail(res, known);
      },
    );
  };
  /** The parsed JSON body; `unsupported_media_type` when the request did not send JSON. */
  const bodyOf = (req: Request): unknown => {
    if (!req.is('application/json')) throw new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
    return req.body;
  };

  router.post('/api/ai-sdk/chat', identified, json, (req, res) => run(res, async () => service.aiSdkChat(callerOf(req, res), bodyOf(req))));
  router.get('/api/ai-sdk/chat/:id/stream', identified, (req, res) => run(res, () => service.aiSdkResume(callerOf(req, res), String(req.params.id))));
  router.delete('/api/ai-sdk/chat/:id/stream', identified, (req, res) => run(res, () => service.aiSdkCancel(callerOf(req, res), String(req.params.id))));
  router.post('/api/ag-ui', identified, json, (req, res) => run(res, async () => service.agUiRun(callerOf(req, res), bodyOf(req))));
}
