import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { loadConfig } from '../../server/settings/config.js';
import { createCore, type CoreParts } from '../../server/service/core.js';
import { createInterop } from '../../server/edge/interop/interop.js';
import { createLogger } from '../../server/observability/log.js';
import { recordingTools, type ToolRun } from './recording-tools.js';
import { startServer, type TestServer } from './server.js';

/** Starts a server for a test: `env` as the process's variables, `parts` replacing the core's. */
export type ServerStarter = (env?: Record<string, string>, parts?: Partial<CoreParts>) => Promise<EdgeServer>;

/** Where a test server mounts `createInterop(core).handle`: the bridge strips it, as a framework strips a route's prefix. */
const MOUNT = '/mounted/tw';

/** A node:http request as a WHATWG Request; its signal aborts when the response closes (the client left, or the answer ended). */
export function toRequest(req: IncomingMessage, res: ServerResponse, url: URL): Request {
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  const body = hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined;
  return new Request(url, { method: req.method ?? 'GET', headers, body, signal: abort.signal, ...(body ? { duplex: 'half' } : {}) } as RequestInit);
}

/** Writes a WHATWG Response to a node:http response, its body piped (and dropped when the client leaves). */
export function writeResponse(res: ServerResponse, response: Response): void {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  if (!response.body) return void res.end();
  const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
  res.once('close', () => body.destroy());
  body.pipe(res);
}

/**
 * A core whose only routes are the interop ones, served by `createInterop(core).handle` behind
 * a small node:http server that turns each request into a WHATWG Request (as Next.js, Bun or
 * Deno do) under a mount prefix. `url` includes the prefix, so tests address the same paths as
 * on the Express app; anything `handle` does not serve is a 404.
 */
export async function startInteropWebServer(env: Record<string, string> = {}, parts: Partial<CoreParts> = {}): Promise<EdgeServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', ...env });
  const core = createCore(config, { log: createLogger(config), ...parts });
  const interop = createInterop({ chat: core.chat, control: core.control, auth: core.auth, metrics: core.metrics, log: core.log, config: core.config, conversations: core.fleet?.conversations, tools: core.tools });
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.startsWith(`${MOUNT}/`) ? url.pathname.slice(MOUNT.length) : undefined;
    const request = toRequest(req, res, url);
    void (path === undefined ? Promise.resolve(undefined) : interop.handle(request, path)).then((response) =>
      writeResponse(res, response ?? Response.json({ error: { code: 'not_found', message: 'No such route.' } }, { status: 404 })),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${MOUNT}`,
    port,
    core,
    http,
    async close() {
      core.control.drain();
      await core.control.shutdown(1_000);
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A server on either edge: the WebSocket transport is the Express app's only. */
export type EdgeServer = Omit<TestServer, 'ws'>;

/** The interop routes on the Express app and through `handle` (web Requests), for `describe.each`. */
export const interopEdges: [string, ServerStarter][] = [
  ['express', startServer],
  ['web', startInteropWebServer],
];

/** A server (on either edge) whose demo tools record every run, at a fast simulated pace; `runs` fills as tools run. */
export async function startRecording(start: ServerStarter, env: Record<string, string> = {}): Promise<{ server: EdgeServer; runs: ToolRun[] }> {
  const tools = recordingTools();
  const server = await start({ SIM_TOKENS_PER_SECOND: '1000', ...env }, { tools: tools.registry });
  return { server, runs: tools.runs };
}
