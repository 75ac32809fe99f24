/**
 * When to try a dropped stream again, and what cuts a wait short. A drop is usually over at once
 * (a proxy's idle cut, a deploy), sometimes after seconds (a train tunnel): the first retry goes
 * at once, later ones back off exponentially with jitter (so a fleet's clients do not return in
 * lockstep), and the client keeps trying for as long as the server keeps the generation for it
 * (the stream's resume window), not for a fixed count.
 */

/** The first wait after the immediate retry, and the longest one. */
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/** How a client retries a dropped stream (from `ChatClientOptions`). */
export interface ReconnectOptions {
  /** Keep retrying this long after a drop (ms): the stream's resume window. */
  windowMs: number;
  /** An optional cap on attempts since the last progress (`maxReconnects`); undefined: none. */
  maxAttempts: number | undefined;
  /** What wakes a waiting retry at once (the browser's `online`, a tab shown again). */
  wakeups: Wakeups;
  /** [0, 1): the jitter's draw. */
  random?: () => number;
}

/**
 * The wait before attempt `attempt` (0-based, counted since the last progress): 0 for the
 * first, then 250 ms doubling to at most 5 s, each drawn from its upper half ("equal jitter").
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  if (attempt <= 0) return 0;
  const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}

/** One stream's retries after a drop: ask `next()` for the wait, or undefined to give up. */
export interface RetrySchedule {
  /** The wait before the next attempt (ms), or undefined when the window or the cap is spent. */
  next(): number | undefined;
  /** The stream made progress: the next drop starts a new window at attempt 0. */
  progressed(): void;
}

export function retrySchedule(options: ReconnectOptions): RetrySchedule {
  let attempt = 0;
  let since: number | undefined;
  /** The waits handed out so far: the window is spent by them even when a test's clock stands still. */
  let planned = 0;
  return {
    next() {
      const now = performance.now();
      since ??= now;
      if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) return undefined;
      const left = options.windowMs - Math.max(now - since, planned);
      if (left < 0 || (left === 0 && attempt > 0)) return undefined;
      // The last try lands at the window's end rather than being skipped: a server back just
      // before it is still found.
      const wait = Math.min(backoffMs(attempt++, options.random), left);
      planned += wait;
      return wait;
    },
    progressed() {
      attempt = 0;
      since = undefined;
      planned = 0;
    },
  };
}

/** Something that says "try now": the network is back, or the page is visible again. */
export interface Wakeups {
  /** Calls `listener` on every wake-up until the returned function is called. */
  on(listener: () => void): () => void;
}

/** An event target as browsers have them (window, document), for the wake-up sources. */
export interface WakeupTarget {
  /** As DOM's `EventTarget.addEventListener`, for `online`, `pageshow` and `visibilitychange`. */
  addEventListener(type: string, listener: () => void): void;
  /** As DOM's `EventTarget.removeEventListener`. */
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * Wake-ups from the page: `online` and `pageshow` on `window`, `visibilitychange` to visible on
 * `document` (HTML Living Standard). Outside a browser there are none.
 */
export function pageWakeups(window: WakeupTarget | undefined = globalThis as unknown as WakeupTarget, document?: WakeupTarget & { visibilityState?: string }): Wakeups {
  const doc = document ?? (globalThis as { document?: WakeupTarget & { visibilityState?: string } }).document;
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const listener of [...listeners]) listener();
  };
  const visible = () => {
    if (doc?.visibilityState !== 'hidden') wake();
  };
  let attached = false;
  const canListen = typeof window?.addEventListener === 'function';
  return {
    on(listener) {
      listeners.add(listener);
      if (!attached && canListen) {
        attached = true;
        window.addEventListener('online', wake);
        window.addEventListener('pageshow', wake);
        doc?.addEventListener('visibilitychange', visible);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && attached) {
          attached = false;
          window.removeEventListener('online', wake);
          window.removeEventListener('pageshow', wake);
          doc?.removeEventListener('visibilitychange', visible);
        }
      };
    },
  };
}

/** Waits `ms`, or less when `signal` aborts or a wake-up comes. */
export function wait(ms: number, signal: AbortSignal, wakeups: Wakeups): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const off = wakeups.on(done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A connection's silence, measured from the last byte heard. */
export interface Watchdog {
  heard(): void;
  /** How long since the last byte (ms). */
  silentMs(): number;
  stop(): void;
}

/**
 * Notices a connection gone silent: the server writes at least every heartbeat (an SSE comment;
 * on the WebSocket an answer to `ping`), so nothing for `timeoutMs` means the path is dead even
 * if TCP has not said so (a half-open connection on a phone). `heard()` on every byte; `onSilent`
 * once when the time passes; `onQuiet` at a third of it (the WebSocket sends its `ping` then).
 */
export function watchdog(timeoutMs: number, handlers: { onSilent(): void; onQuiet?(): void }): Watchdog {
  let last = performance.now();
  if (!(timeoutMs > 0)) return { heard: () => void (last = performance.now()), silentMs: () => performance.now() - last, stop() {} };
  const quietMs = Math.max(10, Math.floor(timeoutMs / 3));
  let pinged = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  // One timer, re-armed for exactly when the next threshold falls (not once per byte heard):
  // silence is noticed at timeoutMs, not up to a check interval later.
  const arm = (ms: number) => {
    // A handler may have stopped the watch (the connection it gave up is gone).
    if (stopped) return;
    timer = setTimeout(check, Math.max(1, ms));
    (timer as { unref?: () => void }).unref?.();
  };
  const check = () => {
    const silent = performance.now() - last;
    if (silent >= timeoutMs) {
      last = performance.now();
      pinged = false;
      handlers.onSilent();
      arm(quietMs);
    } else if (silent >= quietMs && !pinged) {
      pinged = true;
      handlers.onQuiet?.();
      arm(timeoutMs - silent);
    } else {
      arm((pinged ? timeoutMs : quietMs) - silent);
    }
  };
  arm(quietMs);
  return {
    heard() {
      last = performance.now();
      pinged = false;
    },
    silentMs: () => performance.now() - last,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
