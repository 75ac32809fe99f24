import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import { ChatRequest, HEADERS } from '../../shared/protocol.js';
import type { Core } from '../core.js';
import { addAuditRoutes } from './audit-routes.js';
import { createAddressOf } from './client-address.js';
import { sendHttpError, toHttpError } from './http-errors.js';
import { identify, identityOf } from './identify.js';
import { nameInstanceOnEveryAnswer } from './instance-header.js';
import { addInteropRoutes } from './interop-routes.js';
import { serveStreamSse } from './sse-view.js';
import { decideApproval, idempotencyKeyOf } from './stream-requests.js';
import { accessOf, addStreamRoutes } from './stream-routes.js';

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

  nameInstanceOnEveryAnswer(app, core.instanceId);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, instance: core.instanceId, streams: core.hub.active().length, ...(core.fleet ? { store: core.fleet.available ? 'redis' : 'redis_unavailable' } : { store: 'memory' }) });
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

  app.post('/api/chat', json, async (req: Request, res: Response) => {
    // express.json() leaves no body unless the request had one of type application/json: the
    // type was checked once there, not again per start (issue 14).
    if (req.body === undefined) {
      // No body at all (no Content-Length, no chunks) is not a type problem.
      const error = /^application\/json\s*(?:;|$)/i.test(req.get('content-type') ?? '') ? new TokenwireError('invalid_request', 'The body is empty: send the chat request as JSON.') : new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
      sendError(res, error);
      return;
    }
    if (Array.isArray(req.body)) {
      sendError(res, new TokenwireError('invalid_request', 'The body must be a JSON object.'));
      return;
    }
    const body = parseWith(ChatRequest, req.body);
    req.body = undefined; // Parsed: a stream's connection would keep a second copy of its request (issue 14).
    if (!body.ok) {
      sendError(res, new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
      return;
    }
    const idempotencyKey = idempotencyKeyOf(req.get(HEADERS.idempotencyKey));
    if (idempotencyKey instanceof TokenwireError) return void sendError(res, idempotencyKey);
    const stream = await core.startChat(body.value, { transport: 'sse', identity: identityOf(res), gone: () => res.destroyed, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
    serveStreamSse(core, res, stream, -1);
  });

  // SSE has no back channel, so its client decides tool calls here: its subject, or the stream
  // token from the `start` frame (`X-Stream-Token` or body `token`). Answers 200 with the
  // decision, or `{ error: { code, message } }` with the code's status (issue #3).
  app.post('/api/approvals/:callId', json, async (req: Request<{ callId: string }>, res: Response) => {
    if (!req.is('application/json')) {
      sendError(res, new TokenwireError('unsupported_media_type', 'Send the body as application/json.'));
      return;
    }
    const decided = await decideApproval(core, req.params.callId, req.body, accessOf(core, req, res), { subject: identityOf(res).subject, transport: 'http' });
    if (decided instanceof TokenwireError) sendError(res, decided);
    else res.json(decided);
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
