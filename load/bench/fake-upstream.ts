import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback model service that speaks OpenAI's streaming chat-completions format and never
 * finishes on its own: it writes a content chunk every `intervalMs` until the client goes
 * away. tokenwire runs against it (MODEL_PROVIDER=openai) for the disconnect probe, so the
 * moment the upstream socket closes is seen here, in the same clock as the client's disconnect.
 */
export interface FakeUpstream {
  baseURL: string;
  /** Resolves with performance.now() when the next request that arrives is closed by its client. */
  nextClose(): Promise<number>;
  close(): Promise<void>;
}

export async function startFakeUpstream(intervalMs: number, maxTokens = 100_000): Promise<FakeUpstream> {
  let waiting: ((closedAt: number) => void) | undefined;
  const open = new Set<ServerResponse>();
  let id = 0;

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const notify = waiting;
      waiting = undefined;
      open.add(res);
      const chunkId = `chatcmpl-bench-${++id}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent++ >= maxTokens) {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
          return;
        }
        const chunk = { id: chunkId, object: 'chat.completion.chunk', created: 0, model: 'bench', choices: [{ index: 0, delta: { content: ' word' }, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }, intervalMs);
      res.on('close', () => {
        const at = performance.now();
        clearInterval(timer);
        open.delete(res);
        notify?.(at);
      });
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    nextClose: () => new Promise<number>((resolve) => (waiting = resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
