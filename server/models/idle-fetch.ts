import { TokenwireError } from '../../shared/errors.js';

/**
 * Wraps fetch so that a response body silent for `idleMs` fails with `upstream_timeout` and
 * its request is aborted. The openai SDK's own timeout covers only the wait for headers, so a
 * server that stalls mid-answer would otherwise hold the stream open forever.
 * The error is not an AbortError, so the SDK's stream throws it rather than ending quietly.
 */
export function withIdleTimeout(fetchImpl: typeof fetch, idleMs: number): typeof fetch {
  return async (input, init) => {
    const idle = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, idle.signal]) : idle.signal;
    const response = await fetchImpl(input, { ...init, signal });
    if (!response.ok || !response.body) return response;
    const reader = response.body.getReader();
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      // The clock runs only while a read waits on the upstream, never while the reader is busy.
      async pull(controller) {
        timer = setTimeout(() => {
          controller.error(new TokenwireError('upstream_timeout', `The model service sent nothing for ${idleMs} ms.`));
          idle.abort();
        }, idleMs);
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          // After the idle error the stream is already errored; erroring it again throws.
          if (!idle.signal.aborted) controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    Object.defineProperty(wrapped, 'url', { value: response.url });
    return wrapped;
  };
}
