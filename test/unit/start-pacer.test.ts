import { describe, expect, it } from 'vitest';
import { createStartPacer } from '../../server/access/start-pacer.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('start pacer (a burst takes turns with running streams)', () => {
  it('lets a lone start run at once', () => {
    const pacer = createStartPacer(2);
    expect(pacer.turn()).toBeUndefined();
    expect(pacer.waiting).toBe(0);
  });

  it('runs perTurn starts at once and the rest on later turns, perTurn a turn, in order', async () => {
    const pacer = createStartPacer(2);
    const ran: number[] = [];
    const starts = Array.from({ length: 5 }, (_, i) => {
      const wait = pacer.turn();
      if (!wait) {
        ran.push(i);
        return Promise.resolve();
      }
      return wait.then(() => void ran.push(i));
    });
    expect(ran).toEqual([0, 1]);
    expect(pacer.waiting).toBe(3);
    await nextTurn();
    expect(ran).toEqual([0, 1, 2, 3]);
    await nextTurn();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    await Promise.all(starts);
    expect(pacer.waiting).toBe(0);
  });

  it('gives a timer the loop between two batches', async () => {
    const pacer = createStartPacer(1);
    const order: string[] = [];
    expect(pacer.turn()).toBeUndefined();
    const later = Array.from({ length: 3 }, (_, i) => pacer.turn()?.then(() => void order.push(`start ${i + 1}`)));
    setTimeout(() => order.push('timer'), 0);
    // The timer falls due (1 ms) while this turn still runs, as tokens do behind a burst.
    for (const until = performance.now() + 3; performance.now() < until; );
    await Promise.all(later);
    // One start a turn: the due timer runs in the loop's next timers phase, before the last of them.
    expect(order.indexOf('timer')).toBeGreaterThan(-1);
    expect(order.indexOf('timer')).toBeLessThan(order.indexOf('start 3'));
  });

  it('lets starts run at once again once the burst is over', async () => {
    const pacer = createStartPacer(1);
    pacer.turn();
    await pacer.turn();
    await nextTurn();
    await nextTurn();
    expect(pacer.turn()).toBeUndefined();
  });
});
