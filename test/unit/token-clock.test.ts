import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenClock } from '../../server/models/token-clock.js';

describe('token clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each task once its time is at most 1 ms away, in time order, from one timer', () => {
    const clock = createTokenClock();
    const ran: string[] = [];
    const t0 = performance.now();
    clock.at(t0 + 30, () => ran.push('c'));
    clock.at(t0 + 10, () => ran.push('a'));
    clock.at(t0 + 10.5, () => ran.push('a2'));
    clock.at(t0 + 20, () => ran.push('b'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(8);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(ran).toEqual(['a', 'a2']);
    vi.advanceTimersByTime(20);
    expect(ran).toEqual(['a', 'a2', 'b', 'c']);
    expect(clock.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('forgets a cancelled task, and holds no timer once nothing waits', () => {
    const clock = createTokenClock();
    const ran: string[] = [];
    const t0 = performance.now();
    const late = () => ran.push('late');
    clock.at(t0 + 60_000, late);
    clock.at(t0 + 5, () => ran.push('soon'));
    clock.cancel(t0 + 60_000, late);
    expect(clock.size).toBe(1);
    vi.advanceTimersByTime(5);
    expect(ran).toEqual(['soon']);
    expect(vi.getTimerCount()).toBe(0);
    clock.at(t0 + 100, late);
    clock.cancel(t0 + 100, late);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets a task schedule the next one while the clock fires', () => {
    const clock = createTokenClock();
    const t0 = performance.now();
    let runs = 0;
    const task = () => {
      runs++;
      if (runs < 5) clock.at(t0 + 10 * (runs + 1), task);
    };
    clock.at(t0 + 10, task);
    vi.advanceTimersByTime(100);
    expect(runs).toBe(5);
  });

  it('runs `soon` tasks together on the next turn', () => {
    const clock = createTokenClock();
    const ran: number[] = [];
    clock.soon(() => ran.push(1));
    clock.soon(() => ran.push(2));
    expect(ran).toEqual([]);
    vi.runOnlyPendingTimers();
    expect(ran).toEqual([1, 2]);
  });
});
