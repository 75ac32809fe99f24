/** Calls every added function each `intervalMs` from one timer (no timer per connection). */
export interface SharedTicker {
  /** Adds `fn`; returns the function that removes it. */
  add(fn: () => void): () => void;
  /** Removes `fn`, as the function `add` returned does (for callers that keep no remover per `fn`). */
  remove(fn: () => void): void;
  readonly size: number;
}

const tickers = new Map<number, SharedTicker>();

/**
 * The process's ticker for `intervalMs`: one unref'd interval timer, running only while
 * something is added, however many SSE views share the heartbeat period. A function added
 * between two ticks runs at the next one (so within one period, never later).
 */
export function sharedTicker(intervalMs: number): SharedTicker {
  let ticker = tickers.get(intervalMs);
  if (ticker) return ticker;
  const fns = new Set<() => void>();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    for (const fn of fns) fn();
  };
  const remove = (fn: () => void) => {
    fns.delete(fn);
    if (fns.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  ticker = {
    add(fn) {
      fns.add(fn);
      if (!timer) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
      return () => remove(fn);
    },
    remove,
    get size() {
      return fns.size;
    },
  };
  tickers.set(intervalMs, ticker);
  return ticker;
}
