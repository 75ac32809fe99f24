import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { TokenwireError } from '../../../shared/errors.js';
import { parseWith } from '../../../shared/frame-codec.js';
import { ChatRequest, HEADERS } from '../../../shared/protocol.js';
import type { Authenticator } from '../../access/authenticator.js';
import type { ApprovalAudit } from '../../engine/approval-audit.js';
import type { DecidedBy } from '../../engine/approvals.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ChatService } from '../../service/chat-service.js';
import type { StreamControl } from '../../service/stream-control.js';
import type { Config } from '../../settings/config.js';
import { addAuditRoutes } from './audit-routes.js';
import { createAddressOf } from '../client-address.js';
import { sendHttpError, toHttpError } from '../http-errors.js';
import { identify, identityOf } from './identify.js';
import { nameInstanceOnEveryAnswer } from './instance-header.js';
import type { Interop } from '../interop/interop.js';
import { serveStreamSse, type SseViewConfig } from './sse-view.js';
import { decideApproval, idempotencyKeyOf, startResumePoint, type StreamAccess } from '../../service/stream-requests.js';
import { accessOf, addStreamRoutes } from './stream-routes.js';
import { answerToolCall } from '../../service/tool-outputs.js';
import { WS_PATH } from '../ws/ws-server.js';

/**
 * Every path tokenwire answers under its base path. The caller is authenticated on these only,
 * so an app's own routes beside them (`/api/users`) never meet tokenwire's 401.
 */
export const TOKENWIRE_ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/api/chat': ['POST'],
  '/api/approvals/:callId': ['POST'],
  '/api/tool-outputs/:callId': ['POST'],
  '/api/streams/:id': ['GET', 'HEAD', 'DELETE'],
  '/api/streams/:id/approvals': ['GET', 'HEAD'],
  '/api/ai-sdk/chat': ['POST'],
  '/api/ai-sdk/chat/:id/stream': ['GET', 'HEAD', 'DELETE'],
  '/api/ag-ui': ['POST'],
};
const ROUTE_PATHS = Object.keys(TOKENWIRE_ROUTES);

/** What a POST on a tool call does with its body: `decideApproval` or `answerToolCall`. */
type CallAct = (deps: RouterDeps, callId: string, raw: unknown, access: StreamAccess, by: DecidedBy) => Promise<object | TokenwireError>;

/** What the Express router uses: the two services, who asks, the audit, and a few settings. */
export interface RouterDeps {
  chat: ChatService;
  control: StreamControl;
  auth: Authenticator;
  audit: ApprovalAudit;
  metrics: Metrics;
  log: Logger;
  /** Named on every answer (X-Tokenwire-Instance). */
  instanceId: string;
  config: SseViewConfig & Pick<Config, 'TRUST_PROXY'>;
}

/**
 * tokenwire's HTTP routes as an Express sub-app: chat, resume, cancel, approvals, audit, the
 * AI SDK and AG-UI routes, under `basePath`. Anything else goes on to the app's next handler
 * (`next()`): no catch-all, no health, metrics or demo. Errors of its own routes are answered
 * here as typed JSON.
 */
export function createRouter(deps: RouterDeps, basePath: string, interop: Interop): express.Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  const api = express.Router();
  const json = express.json({ limit: '1mb' });
  const sendError = (res: Response, error: TokenwireError) => sendHttpError(res, error, deps.metrics);
  const who = identify(deps, createAddressOf(config.TRUST_PROXY));
  // A POST on one tool call (a decision, an output): JSON only, then `act` under the caller's access.
  const callRoute = (act: CallAct) => async (req: Request<{ callId: string }>, res: Response) => {
    if (!req.is('application/json')) {
      sendError(res, new TokenwireError('unsupported_media_type', 'Send the body as application/json.'));
      return;
    }
    const done = await act(deps, req.params.callId, req.body, accessOf(deps, req, res), { subject: identityOf(res).subject, transport: 'http' });
    if (done instanceof TokenwireError) sendError(res, done);
    else res.json(done);
  };

  nameInstanceOnEveryAnswer(app, deps.instanceId);

  // Every route knows who calls: 401 here when authentication is required.
  api.all(ROUTE_PATHS, who);

  api.post('/api/chat', json, async (req: Request, res: Response) => {
    // express.json() leaves no body unless the request had one of type application/json: the
    // type was checked once there, not again per start.
    if (req.body === undefined) {
      // No body at all (no Content-Length, no chunks) is not a type problem.
      const error = /^application\/json\s*(?:;|$)/i.test(req.get('content-type') ?? '') ? new TokenwireError('invalid_request', 'The body is empty: send the chat request as JSON.') : new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
      sendError(res, error);
      return;
    }
    if (Array.isArray(req.body) || typeof req.body !== 'object' || req.body === null) {
      sendError(res, new TokenwireError('invalid_request', 'The body must be a JSON object.'));
      return;
    }
    const body = parseWith(ChatRequest, req.body);
    req.body = undefined; // Parsed: a stream's connection would otherwise keep a second copy of its request.
    if (!body.ok) {
      sendError(res, new TokenwireError('invalid_request', `The body is not a valid chat request: ${body.message}.`));
      return;
    }
    const idempotencyKey = idempotencyKeyOf(req.get(HEADERS.idempotencyKey));
    if (idempotencyKey instanceof TokenwireError) return void sendError(res, idempotencyKey);
    const resumeAfter = startResumePoint(idempotencyKey, req.get('last-event-id'));
    if (resumeAfter instanceof TokenwireError) return void sendError(res, resumeAfter);
    let replayed = false;
    const keyed = idempotencyKey !== undefined ? { idempotencyKey, onReplay: () => (replayed = true) } : {};
    const stream = await deps.chat.startChat(body.value, { transport: 'sse', identity: identityOf(res), gone: () => res.destroyed, ...keyed });
    serveStreamSse(deps, res, stream, replayed ? resumeAfter : -1);
  });

  // SSE has no back channel, so its client decides tool calls here: its subject, or the stream
  // token from the `start` frame (`X-Stream-Token` or body `token`). Answers 200 with the
  // decision, or `{ error: { code, message } }` with the code's status.
  api.post('/api/approvals/:callId', json, callRoute(decideApproval));

  // A client tool's output, for a client without a WebSocket: the same access as a decision.
  // Answers 200 `{ callId, streamId }`, or `{ error: { code, message } }` with the code's status.
  api.post('/api/tool-outputs/:callId', json, callRoute(answerToolCall));

  addStreamRoutes(api as unknown as express.Express, deps);
  addAuditRoutes(api as unknown as express.Express, deps);
  interop.routes(api);

  // The WebSocket's path asked without an upgrade: a typed answer, not the app's 404 page.
  api.all(WS_PATH, (_req, res) => sendError(res, new TokenwireError('invalid_request', 'This path takes WebSocket upgrades only (RFC 6455 §4.1).')));

  // A path of tokenwire's with another method is 405 with Allow (RFC 9110 §15.5.6), as on
  // tw.fetch; OPTIONS goes on to the app, whose CORS handling answers preflights.
  for (const [path, methods] of Object.entries(TOKENWIRE_ROUTES)) {
    api.all(path, (req, res, next) => {
      if (req.method === 'OPTIONS') return next();
      res.set('allow', methods.join(', '));
      sendError(res, new TokenwireError('method_not_allowed', `Use ${methods.join(', ')}.`));
    });
  }

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
  api.use(onError);
  app.use(basePath || '/', api);
  return app;
}
