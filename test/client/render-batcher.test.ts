import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRenderBatcher } from '../../client/render-batcher.js';

/** Pushes `count` tokens at `perSecond`, advancing fake time between them; returns the flushes. */
function feed(intervalMs: number | undefined, perSecond: number, count: number) {
  const flushes: { at: number; items: string[] }[] = [];
  const batcher = createRenderBatcher<string>({
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    now: () => Date.now(),
    onFlush: (items) => flushes.push({ at: Date.now(), items }),
  });
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    // Token i arrives at start + i/rate; due flushes run on the way there.
    vi.advanceTimersByTime(start + (i * 1000) / perSecond - Date.now());
    batcher.push(`t${i}`);
  }
  return { flushes, batcher, start };
}

describe('render batcher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it('turns 200 tokens/s into at most 20 renders per second at the default 50 ms', () => {
    const { flushes, batcher } = feed(undefined, 200, 200);
    vi.advanceTimersByTime(100);
    batcher.flush();
    // One second of tokens: 20 intervals, plus the leading flush of the first token.
    expect(flushes.length).toBeLessThanOrEqual(21);
    expect(flushes.length).toBeGreaterThanOrEqual(19);
    expect(flushes.flatMap((f) => f.items)).toEqual(Array.from({ length: 200 }, (_, i) => `t${i}`));
    for (let i = 1; i < flushes.length; i++) {
      expect(flushes[i]!.at - flushes[i - 1]!.at).toBeGreaterThanOrEqual(50);
    }
  });

  it('honours a configured 100 ms interval (at most ~10 renders/s)', () => {
    const { flushes, batcher } = feed(100, 200, 200);
    vi.advanceTimersByTime(200);
    batcher.flush();
    expect(flushes.length).toBeLessThanOrEqual(11);
    expect(flushes.flatMap((f) => f.items)).toHaveLength(200);
  });

  it('shows the first token at once, then holds the next ones until the interval has passed', () => {
    const seen: string[][] = [];
    const batcher = createRenderBatcher<string>({ now: () => Date.now(), onFlush: (items) => seen.push(items) });
    batcher.push('a');
    expect(seen).toEqual([['a']]);
    vi.advanceTimersByTime(10);
    batcher.push('b');
    batcher.push('c');
    expect(seen).toHaveLength(1);
    expect(batcher.pending).toBe(2);
    vi.advanceTimersByTime(39);
    expect(seen).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([['a'], ['b', 'c']]);
  });

  it('flushes immediately on demand (done, error) without waiting for the timer', () => {
    const seen: string[][] = [];
    const batcher = createRenderBatcher<string>({ now: () => Date.now(), onFlush: (items) => seen.push(items) });
    batcher.push('a');
    batcher.push('b');
    expect(seen).toEqual([['a']]);
    batcher.flush();
    expect(seen).toEqual([['a'], ['b']]);
    // The cancelled timer must not flush an empty batch later.
    vi.advanceTimersByTime(1_000);
    expect(seen).toHaveLength(2);
  });

  it('with interval 0 hands over every token on its own', () => {
    const seen: string[][] = [];
    const batcher = createRenderBatcher<string>({ intervalMs: 0, now: () => Date.now(), onFlush: (items) => seen.push(items) });
    for (const t of ['a', 'b', 'c']) batcher.push(t);
    expect(seen).toEqual([['a'], ['b'], ['c']]);
  });

  it('after dispose drops pending tokens and ignores new ones', () => {
    const seen: string[][] = [];
    const batcher = createRenderBatcher<string>({ now: () => Date.now(), onFlush: (items) => seen.push(items) });
    batcher.push('a');
    batcher.push('b');
    batcher.dispose();
    batcher.push('c');
    vi.advanceTimersByTime(1_000);
    batcher.flush();
    expect(seen).toEqual([['a']]);
  });
});
