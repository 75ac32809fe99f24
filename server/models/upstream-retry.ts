import { setTimeout as delay } from 'node:timers/promises';
import { APIConnectionError, APIError } from 'openai';
import { TokenwireError } from '../../shared/errors.js';
import { retryAfterMs } from './retry-after.js';

export { retryAfterMs } from './retry-after.js';

/** How tokenwire retries an upstream request that failed before its first byte. */
export interface RetryPolicy {
  maxRetries: number;
  /** The longest wait tokenwire accepts; an upstream asking for more ends the stream at once. */
  maxWaitMs: number;
  /** Backoff without Retry-After: 500 ms doubling per attempt, at most 8 s (the SDK's own schedule). */
  random?: () => number;
}

/** Worth another attempt: the SDK's own list (408, 409, 429, 5xx, no connection), unless `x-should-retry: false`. */
function isRetryable(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true;
  if (!(error instanceof APIError) || typeof error.status !== 'number') return false;
  const hint = error.headers?.get('x-should-retry');
  if (hint === 'false') return false;
  if (hint === 'true') return true;
  return error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500;
}

const backoffMs = (attempt: number, random: () => number) => Math.min(500 * 2 ** attempt, 8_000) * (1 - 0.25 * random());

/**
 * Runs `attempt` (the request up to its response head) and retries it by the policy. The wait
 * between attempts ends at once when `signal` aborts (a cancel, a disconnect), and a
 * Retry-After above `maxWaitMs` ends with `upstream_rate_limited` naming the wait instead of
 * holding the stream open.
 */
export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy, signal: AbortSignal): Promise<T> {
  const random = policy.random ?? Math.random;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted || n >= policy.maxRetries || !isRetryable(error)) throw error;
      const asked = error instanceof APIError ? retryAfterMs(error.headers) : undefined;
      if (asked !== undefined && asked > policy.maxWaitMs) {
        throw new TokenwireError(
          'upstream_rate_limited',
          `The model service asked to wait ${asked} ms before retrying, more than the ${policy.maxWaitMs} ms allowed.`,
          { cause: error },
        );
      }
      const waitMs = asked ?? Math.min(backoffMs(n, random), policy.maxWaitMs);
      // Rejects with an AbortError as soon as the signal aborts; the caller sees the signal.
      await delay(waitMs, undefined, { signal });
    }
  }
}
