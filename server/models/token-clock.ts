/** Runs paced work for every stream of a process from one timer. */
export interface TokenClock {
  /**
   * Runs `task` once `dueMs` (performance.now() time) is at most 1 ms away, as the simulated
   * model always paced its tokens. A task must not ask for a time already due: it does that
   * work itself, or asks for `soon`.
   */
  at(dueMs: number, task: () => void): void;
  /** Forgets a task still waiting for `dueMs` (the same time it was given). */
  cancel(dueMs: number, task: () => void): void;
  /** Runs `task` on the next turn of the event loop, after timers and I/O had theirs. */
  soon(task: () => void): void;
  /** Tasks waiting for their time. */
  readonly size: number;
}

/** The bucket of a due time: the first whole millisecond at which it is at most 1 ms away. */
const keyOf = (dueMs: number) => Math.ceil(dueMs - 1);

/**
 * A timer wheel of 1 ms buckets under one Node timer. A timer per token (and per parked stream)
 * was a Timeout object, a list insert and a callback each; here tokens that fall due in the
 * same millisecond share a wake-up, and a stream waiting for its first token holds no timer.
 * Buckets are ordered by a binary heap of their keys; a bucket is an array of callbacks.
 */
export function createTokenClock(): TokenClock {
  const buckets = new Map<number, (() => void)[]>();
  const heap: number[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  let soonTasks: (() => void)[] = [];
  /** While buckets run, the tasks they schedule arm nothing: the timer is armed once after. */
  let firing = false;

  const push = (key: number) => {
    let i = heap.push(key) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= key) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = key;
  };
  const pop = () => {
    const top = heap[0] as number;
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
        if ((heap[child] as number) >= last) break;
        heap[i] = heap[child] as number;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  };

  function arm(): void {
    if (buckets.size === 0) {
      // Only stale keys of cancelled tasks are left: nothing keeps the process awake.
      heap.length = 0;
      if (timer) clearTimeout(timer);
      timer = undefined;
      armedFor = Infinity;
      return;
    }
    const next = heap[0] as number;
    if (timer && armedFor <= next) return;
    if (timer) clearTimeout(timer);
    armedFor = next;
    // Whole milliseconds: Node keeps one timer list per duration.
    timer = setTimeout(fire, Math.max(1, Math.ceil(next - performance.now())));
  }

  function fire(): void {
    timer = undefined;
    armedFor = Infinity;
    firing = true;
    const now = performance.now();
    try {
      while (heap.length > 0 && (heap[0] as number) <= now) {
        const key = pop();
        const tasks = buckets.get(key);
        if (!tasks) continue;
        buckets.delete(key);
        size -= tasks.length;
        for (const task of tasks) task();
      }
    } finally {
      firing = false;
      arm();
    }
  }

  function runSoon(): void {
    const tasks = soonTasks;
    soonTasks = [];
    for (const task of tasks) task();
  }

  return {
    at(dueMs, task) {
      const key = keyOf(dueMs);
      let tasks = buckets.get(key);
      if (!tasks) {
        tasks = [];
        buckets.set(key, tasks);
        push(key);
      }
      tasks.push(task);
      size++;
      if (key < armedFor && !firing) arm();
    },
    cancel(dueMs, task) {
      const key = keyOf(dueMs);
      const tasks = buckets.get(key);
      const at = tasks ? tasks.lastIndexOf(task) : -1;
      if (!tasks || at < 0) return;
      tasks[at] = tasks[tasks.length - 1] as () => void;
      tasks.pop();
      size--;
      if (tasks.length === 0) buckets.delete(key);
      if (buckets.size === 0) arm();
    },
    soon(task) {
      if (soonTasks.push(task) === 1) setImmediate(runSoon);
    },
    get size() {
      return size;
    },
  };
}
