import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler } from 'express';
import { TokenwireError } from '../../shared/errors.js';
import type { Config } from '../settings/config.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tokenwire, TokenwireAuth } from '../index.js';
import { sendHttpError, toHttpError } from '../edge/http-errors.js';
import { nameInstanceOnEveryAnswer } from '../edge/express/instance-header.js';

const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../dist/demo', import.meta.url));
const DEFAULT_DEMO_DIR_BUILT = fileURLToPath(new URL('../../demo', import.meta.url));

/**
 * The standalone server's HTTP app: what a library user would write around `tw.router` —
 * `/healthz`, `/readyz`, `/metrics` (behind the API's authentication with
 * METRICS_AUTH=authenticated), tokenwire's routes, the demo page, and a JSON 404 for every
 * other path.
 */
export function createApp(tw: Tokenwire, config: Config, options: { log: Logger; auth?: TokenwireAuth | undefined; metrics: Pick<Metrics, 'errors'> }): express.Express {
  const { log, auth, metrics: metricsCounted } = options;
  const app = express();
  app.disable('x-powered-by');
  // The standalone server's own answers (health, 404s, the demo) name the instance too.
  nameInstanceOnEveryAnswer(app, tw.health().instance);

  app.get('/healthz', (_req, res) => {
    const { instance, streams, store } = tw.health();
    res.json({ ok: true, instance, streams, store });
  });

  // Readiness for a load balancer: false from the moment shutdown begins, while streams drain.
  app.get('/readyz', (_req, res) => {
    const { draining } = tw.health();
    res.status(draining ? 503 : 200).json({ ready: !draining });
  });

  app.get('/metrics', async (req, res) => {
    if (config.METRICS_AUTH === 'authenticated' && auth) {
      const subject = await Promise.resolve(auth.authenticate(req)).catch(() => null);
      if (subject === null || subject === undefined) return void sendHttpError(res, new TokenwireError('unauthorized', 'This request needs authentication: a valid session or bearer token.'), metricsCounted);
    }
    res.type(tw.metrics.contentType).send(await tw.metrics.metrics());
  });

  app.use(tw.router);

  app.use('/api', (_req, res) => {
    sendHttpError(res, new TokenwireError('not_found'), metricsCounted);
  });

  const demoDir = config.DEMO_DIR ?? [DEFAULT_DEMO_DIR, DEFAULT_DEMO_DIR_BUILT].find((d) => existsSync(d));
  if (demoDir && existsSync(demoDir)) app.use(express.static(demoDir, { index: 'index.html', maxAge: '1h' }));

  // Every other path: the JSON 404, never Express's HTML page.
  app.use((_req, res) => {
    sendHttpError(res, new TokenwireError('not_found'), metricsCounted);
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const known = toHttpError(error);
    if (known.code === 'internal') log.error({ err: error }, 'request failed');
    else log.debug({ err: error, code: known.code }, 'request refused');
    if (res.headersSent) return void res.end();
    sendHttpError(res, known, metricsCounted);
  };
  app.use(onError);
  return app;
}
