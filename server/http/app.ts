import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import { ApprovalDecisionRequest, ChatRequest } from '../../shared/protocol.js';
import type { Core } from '../core.js';
import { mayAccessStream } from '../auth/stream-access.js';
import { addAuditRoutes } from './audit-routes.js';
import { createAddressOf } from './client-address.js';
import { sendHttpError, toHttpError } from './http-errors.js';
import { identify, identityOf } from './identify.js';
import { addInteropRoutes } from './interop-routes.js';
import { serveStreamSse, streamTokenFor } from './sse-view.js';
import { addStreamRoutes } from './stream-routes.js';

const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../dist/demo', import.meta.url));
const DEFAULT_DEMO_DIR_BUILT = fileURLToPath(new URL('../../demo', import.meta.url));

/** The HTTP routes: SSE chat, health, readiness, metrics, and the demo page. */
export function createApp(core: Core): express.Express {
  const { config, log } = core;
  const app = express();
  app.disable('x-powered-by');
  const json = express.json({ limit: '1mb' });
  const sendError = (res: Response, error: TokenwireError) => sendHttpError(res, error, core.metrics);
  const who = identify(core, createAddressOf(config.TRUST_PROXY));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, streams: core.hub.active().length });
  });

  // Readiness for a load balancer: false from the moment shutdown begins, while streams drain.
  app.get('/readyz', (_req, res) => {
    res.status(core.draining ? 503 : 200).json({ ready: !core.draining });
  });

  const metricsAuth: express.RequestHandler[] = config.METRICS_AUTH === 'authenticated' ? [who] : [];
  app.get('/metrics', ...metricsAuth, async (_req, res) => {
    res.type(core.metrics.registry.contentType).send(await core.metrics.registry.metrics());
  });

  // Every API route knows who calls (issue 12): 401 here when authentication is required.
  app.use('/api', who);

  app.post('/api/chat', json, (req: Request, res: Response) => {
    if (!req.is('application/json')) {
      sendError(res, new TokenwireError('invalid_request', 'Send the body as application/json.'));
      return;
    }
    const body = parseWith(ChatRequest, req.body);
    if (!body.ok) {
      sendError(res, new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
      return;
    }
    const stream = core.startChat(body.value, { transport: 'sse', identity: identityOf(res) });
    serveStreamSse(core, res, stream, -1);
  });

  // SSE has no back channel, so its client decides tool calls here: its subject, or the stream
  // token from the `start` frame (`X-Stream-Token` or body `token`). Answers 200 with the
  // decision, or `{ error: { code, message } }` with the code's status (issue #3).
  app.post('/api/approvals/:callId', json, (req: Request<{ callId: string }>, res: Response) => {
    if (!req.is('application/json')) {
      sendError(res, new TokenwireError('invalid_request', 'Send the body as application/json.'));
      return;
    }
    const body = parseWith(ApprovalDecisionRequest, req.body);
    if (!body.ok) {
      sendError(res, new TokenwireError('invalid_request', `The body is not a valid decision: ${body.message}.`));
      return;
    }
    const { callId } = req.params;
    const token = body.value.token ?? streamTokenFor(core, req);
    const { subject } = identityOf(res);
    try {
      const { streamId } = core.approvals.decide(callId, body.value.decision, {
        authorize: (id) => {
          const stream = core.hub.get(id);
          return stream !== undefined && mayAccessStream(stream, subject, token);
        },
        reason: body.value.reason,
        by: { subject, transport: 'http' },
      });
      res.json({ callId, decision: body.value.decision, streamId });
    } catch (error) {
      const known = toHttpError(error);
      if (known.code === 'internal') log.error({ err: error, callId }, 'approval failed');
      sendError(res, known);
    }
  });

  addStreamRoutes(app, core);
  addAuditRoutes(app, core);
  addInteropRoutes(app, core);

  app.use('/api', (_req, res) => {
    sendError(res, new TokenwireError('not_found'));
  });

  const demoDir = config.DEMO_DIR ?? [DEFAULT_DEMO_DIR, DEFAULT_DEMO_DIR_BUILT].find((d) => existsSync(d));
  if (demoDir && existsSync(demoDir)) app.use(express.static(demoDir, { index: 'index.html', maxAge: '1h' }));

  // Every other path: the JSON 404, never Express's HTML page.
  app.use((_req, res) => {
    sendError(res, new TokenwireError('not_found'));
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const known = toHttpError(error);
    // Client errors are the client's: debug. Only what we cannot explain is a server fault.
    if (known.code === 'internal') log.error({ err: error }, 'request failed');
    else log.debug({ err: error, code: known.code }, 'request refused');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, known);
  };
  app.use(onError);
  return app;
}
