import WebSocket from 'ws';

/**
 * A minimal Chrome DevTools Protocol client for a server started with --inspect=127.0.0.1:0:
 * the idle-memory figure forces a full GC in the server before each reading and reads V8's
 * used heap, so the per-connection figure is not at the mercy of when the server last
 * collected. Only the idle servers run with the inspector.
 */
export interface Inspector {
  collectGarbage(): Promise<void>;
  /** V8 heap in use and committed, bytes (Runtime.getHeapUsage). */
  heapUsage(): Promise<{ used: number; total: number }>;
  /** Runtime.evaluate in the main context (e.g. v8.writeHeapSnapshot for load/bench/idle-heap.ts); throws on an exception. */
  evaluate(expression: string): Promise<unknown>;
  close(): void;
}

export function connectInspector(url: string, timeoutMs = 5_000): Promise<Inspector> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    let nextId = 1;
    const call = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<unknown>((res, rej) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          rej(new Error(`inspector: ${method} timed out`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            res(value);
          },
          reject: (error) => {
            clearTimeout(timer);
            rej(error);
          },
        });
        socket.send(JSON.stringify({ id, method, params }));
      });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(`inspector: ${message.error.message}`));
      else waiter?.resolve(message.result);
    });
    socket.once('error', reject);
    socket.once('open', () =>
      resolve({
        collectGarbage: async () => {
          await call('HeapProfiler.collectGarbage');
        },
        heapUsage: async () => {
          const { usedSize, totalSize } = (await call('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };
          return { used: usedSize, total: totalSize };
        },
        evaluate: async (expression) => {
          const { result, exceptionDetails } = (await call('Runtime.evaluate', { expression, returnByValue: true })) as {
            result?: { value?: unknown };
            exceptionDetails?: { text: string; exception?: { description?: string } };
          };
          if (exceptionDetails) throw new Error(`inspector: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
          return result?.value;
        },
        close: () => socket.terminate(),
      }),
    );
  });
}
