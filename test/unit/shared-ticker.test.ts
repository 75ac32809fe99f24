import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sharedTicker } from '../../server/views/shared-ticker.js';
import { corkForTurn } from '../../server/views/turn-cork.js';

describe('shared ticker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs every added function each period from one timer, and holds none once all are removed', () => {
    const ticker = sharedTicker(1_000);
    const ran: string[] = [];
    const removeA = ticker.add(() => ran.push('a'));
    const removeB = ticker.add(() => ran.push('b'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(ran).toEqual(['a', 'b']);
    removeA();
    vi.advanceTimersByTime(1_000);
    expect(ran).toEqual(['a', 'b', 'b']);
    removeB();
    expect(vi.getTimerCount()).toBe(0);
    expect(sharedTicker(1_000)).toBe(ticker);
  });

  it('remove(fn) takes a function out as its remover does, and the last one stops the timer', () => {
    const ticker = sharedTicker(500);
    const ran: string[] = [];
    const a = () => void ran.push('a');
    ticker.add(a);
    vi.advanceTimersByTime(500);
    ticker.remove(a);
    vi.advanceTimersByTime(1_000);
    expect(ran).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('cork for the turn', () => {
  it('corks each socket once per turn and uncorks them all on the next tick', async () => {
    const socket = () => {
      const s = { writableCorked: 0, cork: () => void s.writableCorked++, uncork: () => void s.writableCorked-- };
      return s;
    };
    const [a, b] = [socket(), socket()];
    corkForTurn(a);
    corkForTurn(a);
    corkForTurn(b);
    expect([a.writableCorked, b.writableCorked]).toEqual([1, 1]);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect([a.writableCorked, b.writableCorked]).toEqual([0, 0]);
  });
});
