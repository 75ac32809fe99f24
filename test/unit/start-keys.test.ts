import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStartKeys, requestFingerprint, scopedStartKey, type StartClaim } from '../../server/streams/start-keys.js';

const record = (streamId: string) => ({ streamId, fingerprint: `fp-${streamId}` });
const claimOf = (claimed: StartClaim): string => {
  if (claimed.status !== 'claimed') throw new Error(`expected a claim, got ${claimed.status}`);
  return claimed.claim;
};

describe('start idempotency keys in memory', () => {
  afterEach(() => void vi.useRealTimers());

  it('the first claim of a key holds: a second start waits (pending) until it names its stream, then finds it', async () => {
    const keys = createMemoryStartKeys(10);
    const claim = claimOf(await keys.claim('k', 'fp-a', 1_000));
    expect(await keys.claim('k', 'fp-a', 1_000)).toEqual({ status: 'pending', fingerprint: 'fp-a' });
    let settled = false;
    const waiting = keys.settled('k', 60_000).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(await keys.fill('k', claim, record('a'), 1_000)).toBe(true);
    await waiting;
    expect(await keys.claim('k', 'fp-a', 1_000)).toEqual({ status: 'started', record: record('a') });
  });

  it('a dropped claim lets the next start claim the key; a stale claim cannot fill it', async () => {
    const keys = createMemoryStartKeys(10);
    const first = claimOf(await keys.claim('k', 'fp', 1_000));
    const waiting = keys.settled('k', 60_000);
    await keys.drop('k', first);
    await waiting;
    const second = claimOf(await keys.claim('k', 'fp', 1_000));
    expect(await keys.fill('k', first, record('a'), 1_000)).toBe(false);
    expect(await keys.fill('k', second, record('b'), 1_000)).toBe(true);
    expect(await keys.claim('k', 'fp', 1_000)).toEqual({ status: 'started', record: record('b') });
  });

  it('a claim lapses after its reserve, waking who waits; a record is forgotten after its TTL', async () => {
    vi.useFakeTimers();
    const keys = createMemoryStartKeys(10);
    claimOf(await keys.claim('k', 'fp', 500));
    let settled = false;
    const waiting = keys.settled('k', 60_000).then(() => (settled = true));
    vi.advanceTimersByTime(499);
    await Promise.resolve();
    expect(settled).toBe(false);
    vi.advanceTimersByTime(1);
    await waiting;
    const claim = claimOf(await keys.claim('k', 'fp', 500));
    await keys.fill('k', claim, record('a'), 1_000);
    vi.advanceTimersByTime(999);
    expect((await keys.claim('k', 'fp', 500)).status).toBe('started');
    vi.advanceTimersByTime(1);
    expect((await keys.claim('k', 'fp', 500)).status).toBe('claimed');
  });

  it('holds at most maxKeys, letting the oldest go first', async () => {
    const keys = createMemoryStartKeys(2);
    for (const id of ['a', 'b', 'c']) await keys.fill(id, claimOf(await keys.claim(id, `fp-${id}`, 1_000)), record(id), 60_000);
    expect((await keys.claim('a', 'fp-a', 1_000)).status).toBe('claimed');
    expect(await keys.claim('c', 'fp-c', 1_000)).toEqual({ status: 'started', record: record('c') });
  });

  it('scopes a key to its subject and fingerprints the request body', () => {
    expect(scopedStartKey('k', 'alice')).not.toBe(scopedStartKey('k', 'bob'));
    expect(scopedStartKey('k', undefined)).not.toBe(scopedStartKey('k', 'alice'));
    const chat = { messages: [{ role: 'user' as const, content: 'hi' }] };
    expect(requestFingerprint(chat)).toBe(requestFingerprint({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(requestFingerprint(chat)).not.toBe(requestFingerprint({ messages: [{ role: 'user', content: 'hello' }] }));
  });
});
