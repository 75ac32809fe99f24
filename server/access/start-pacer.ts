/** Lets a bounded number of stream starts run per turn of the event loop. */
export interface StartPacer {
  /**
   * Undefined when a start may run now; else a promise that resolves on a later turn, in the
   * order the starts asked. Never rejects.
   */
  turn(): Promise<void> | undefined;
  /** Starts waiting for a later turn. */
  readonly waiting: number;
}

/**
 * Spreads a burst of starts across turns: `perTurn` run at once, the rest wait for the next
 * turns (`setImmediate`), `perTurn` a turn, so the timers that pace running streams' tokens get
 * the loop between batches instead of waiting behind a thousand starts (a burst must
 * not delay the tokens of streams already running). A lone start never waits.
 */
export function createStartPacer(perTurn: number): StartPacer {
  let ranThisTurn = 0;
  let queue: (() => void)[] = [];
  let head = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(nextTurn);
  };

  function nextTurn(): void {
    scheduled = false;
    ranThisTurn = 0;
    while (head < queue.length && ranThisTurn < perTurn) {
      const resolve = queue[head] as () => void;
      queue[head++] = undefined as unknown as () => void;
      ranThisTurn++;
      resolve();
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    }
    // The count starts over next turn; while starts wait, that turn releases the next batch.
    if (ranThisTurn > 0) schedule();
  }

  return {
    turn() {
      schedule();
      if (head === queue.length && ranThisTurn < perTurn) {
        ranThisTurn++;
        return undefined;
      }
      return new Promise<void>((resolve) => queue.push(resolve));
    },
    get waiting() {
      return queue.length - head;
    },
  };
}
