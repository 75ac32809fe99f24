import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import { ChatRequest } from '../../shared/protocol.js';
import type { Core } from '../core.js';
import { serveSse } from '../transports/sse.js';
import { decideApproval } from './stream-requests.js';
import { addStreamRoutes, bearerToken } from './stream-routes.js';

const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../dist/demo', import.meta.url));
const DEFAULT_DEMO_DIR_BUILT = fileURLToPath(new URL('../../demo', import.meta.url));

function sendError(res: Response, error: TokenwireError): void {
  res.status(error.status).json(error.toJSON());
}

/** Maps body-parser's failures (bad JSON, too large) onto our codes before anything else. */
function bodyError(error: unknown): TokenwireError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return new TokenwireError('invalid_request', 'The body is not valid JSON.');
  if (type === 'entity.too.large') return new TokenwireError('payload_too_large', 'The body is too large.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new TokenwireError('invalid_request', 'Unsupported body encoding.');
  return undefined;
}

/** The HTTP routes: SSE chat, health, metrics, and the demo page. */
export function createApp(core: Core): express.Express {
  const { config, log } = core;
  const app = express();
  app.disable('x-powered-by');
  const json = express.json({ limit: '1mb' });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, streams: core.hub.active().length });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(core.metrics.registry.contentType).send(await core.metrics.registry.metrics());
  });

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
    const stream = core.startChat(body.value, { transport: 'sse' });
    void serveSse(res, stream, {
      heartbeatMs: config.HEARTBEAT_MS,
      retryMs: config.SSE_RETRY_MS,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      afterSeq: -1,
    });
  });

  // SSE has no back channel, so its client decides tool calls here, with the stream's approval
  // token from the `start` frame (body `token` or `Authorization: Bearer`). Answers 200 with the
  // decision, or `{ error: { code, message } }` with the code's status (issue #3).
  app.post('/api/approvals/:callId', json, (req: Request<{ callId: string }>, res: Response) => {
    if (!req.is('application/json')) {
      sendError(res, new TokenwireError('invalid_request', 'Send the body as application/json.'));
      return;
    }
    const decided = decideApproval(core, req.params.callId, req.body, bearerToken(req));
    if (decided instanceof TokenwireError) sendError(res, decided);
    else res.json(decided);
  });

  addStreamRoutes(app, core);

  app.use('/api', (_req, res) => {
    sendError(res, new TokenwireError('not_found'));
  });

  const demoDir = config.DEMO_DIR ?? [DEFAULT_DEMO_DIR, DEFAULT_DEMO_DIR_BUILT].find((d) => existsSync(d));
  if (demoDir && existsSync(demoDir)) app.use(express.static(demoDir, { index: 'index.html', maxAge: '1h' }));

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const known = bodyError(error) ?? toTokenwireError(error);
    if (known.code === 'internal') log.error({ err: error }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, known);
  };
  app.use(onError);
  return app;
}
