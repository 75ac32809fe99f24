/** Options of a render batcher. */
export interface RenderBatcherOptions<T> {
  /** Shortest time between two flushes, in ms. 50 by default; 0 flushes on every push. */
  intervalMs?: number;
  /** Receives everything pushed since the last flush, in order; never called with an empty batch. */
  onFlush: (items: T[]) => void;
  /** The clock, in ms; injectable for tests. */
  now?: () => number;
}

/** Collects items (tokens) and hands them to the UI at most once per interval. */
export interface RenderBatcher<T> {
  /** Adds an item: flushed at once after a quiet interval, else with the next flush; ignored after `dispose()`. */
  push(item: T): void;
  /** Flushes at once (on `done`, on `error`, before a tool call is shown). */
  flush(): void;
  /** Drops the pending items and the timer; later pushes are ignored. */
  dispose(): void;
  /** Items waiting for the next flush. */
  readonly pending: number;
}

/** The default batching interval: 50 ms, so 200 tokens/s become at most 20 renders/s. */
export const DEFAULT_BATCH_MS = 50;

/**
 * A throttle with a leading and a trailing edge: a push after a quiet interval flushes at
 * once (the first token is not delayed), later pushes wait for the interval to pass since the
 * last flush. Flushes are therefore at least `intervalMs` apart, except explicit `flush()`.
 */
export function createRenderBatcher<T>(options: RenderBatcherOptions<T>): RenderBatcher<T> {
  const intervalMs = Math.max(0, options.intervalMs ?? DEFAULT_BATCH_MS);
  const now = options.now ?? (() => performance.now());
  let items: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastFlushAt = -Infinity;
  let disposed = false;

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (items.length === 0) return;
    const batch = items;
    items = [];
    lastFlushAt = now();
    options.onFlush(batch);
  };

  return {
    push(item) {
      if (disposed) return;
      items.push(item);
      if (timer !== undefined) return;
      const wait = lastFlushAt + intervalMs - now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    flush() {
      if (!disposed) flush();
    },
    dispose() {
      disposed = true;
      items = [];
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    get pending() {
      return items.length;
    },
  };
}
