import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStartKeys, requestFingerprint, scopedStartKey } from '../../server/streams/start-keys.js';

const record = (streamId: string) => ({ streamId, fingerprint: `fp-${streamId}` });

describe('start idempotency keys in memory', () => {
  afterEach(() => void vi.useRealTimers());

  it('the first claim of a key holds; a later claim gets the first record', async () => {
    const keys = createMemoryStartKeys(10);
    expect(await keys.claim('k', record('a'), 1_000)).toEqual(record('a'));
    expect(await keys.claim('k', record('b'), 1_000)).toMatchObject(record('a'));
    expect(await keys.get('k')).toMatchObject(record('a'));
  });

  it('a key is forgotten after its TTL', async () => {
    vi.useFakeTimers();
    const keys = createMemoryStartKeys(10);
    await keys.claim('k', record('a'), 1_000);
    vi.advanceTimersByTime(999);
    expect(await keys.get('k')).toMatchObject(record('a'));
    vi.advanceTimersByTime(1);
    expect(await keys.get('k')).toBeUndefined();
    expect(await keys.claim('k', record('b'), 1_000)).toEqual(record('b'));
  });

  it('holds at most maxKeys, letting the oldest go first', async () => {
    const keys = createMemoryStartKeys(2);
    for (const id of ['a', 'b', 'c']) await keys.claim(id, record(id), 60_000);
    expect(await keys.get('a')).toBeUndefined();
    expect(await keys.get('b')).toMatchObject(record('b'));
    expect(await keys.get('c')).toMatchObject(record('c'));
  });

  it('scopes a key to its subject and fingerprints the request body', () => {
    expect(scopedStartKey('k', 'alice')).not.toBe(scopedStartKey('k', 'bob'));
    expect(scopedStartKey('k', undefined)).not.toBe(scopedStartKey('k', 'alice'));
    const chat = { messages: [{ role: 'user' as const, content: 'hi' }] };
    expect(requestFingerprint(chat)).toBe(requestFingerprint({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(requestFingerprint(chat)).not.toBe(requestFingerprint({ messages: [{ role: 'user', content: 'hello' }] }));
  });
});
