import { describe, expect, it } from 'vitest';
import { createMemoryApprovalAudit } from '../../server/engine/approval-audit.js';
import type { ApprovalRecord } from '../../server/engine/approval-record.js';
import { clientKey, createMemoryClientLimits } from '../../server/access/client-limits.js';
import { createTokenBuckets } from '../../server/access/token-bucket.js';
import { isTokenwireError } from '../../shared/errors.js';

const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('token buckets', () => {
  it('allows a burst of `capacity`, then one per windowMs/capacity, and says how long to wait', () => {
    const c = clock();
    const buckets = createTokenBuckets({ capacity: 3, windowMs: 3_000, now: c.now });
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(1_000);
    expect(buckets.take('b')).toBe(0);
    c.advance(400);
    expect(buckets.take('a')).toBe(600);
    c.advance(600);
    expect(buckets.take('a')).toBe(0);
  });

  it('forgets full buckets once many keys were seen, so idle clients cost no memory', () => {
    const c = clock();
    const buckets = createTokenBuckets({ capacity: 1, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 10_000; i++) buckets.take(`k${i}`);
    c.advance(1_000);
    buckets.take('fresh');
    expect(buckets.size).toBe(1);
  });
});

describe('memory client limits', () => {
  it('refuses past the concurrent bound with too_many_streams, frees a slot on release, and keys clients apart', () => {
    const limits = createMemoryClientLimits({ maxStreamsPerClient: 2, startsPerMinute: 100 });
    const key = clientKey(undefined, '10.0.0.1');
    const first = limits.admitStream(key);
    limits.admitStream(key);
    expect(() => limits.admitStream(key)).toThrow(expect.objectContaining({ code: 'too_many_streams', retryAfterMs: 1_000 }));
    expect(limits.admitStream(clientKey('alice', '10.0.0.1'))).toBeTypeOf('function');
    first();
    first();
    expect(limits.open(key)).toBe(1);
    expect(limits.admitStream(key)).toBeTypeOf('function');
  });

  it('refuses past the starts per minute with rate_limited and the wait in ms', () => {
    const c = clock();
    const limits = createMemoryClientLimits({ maxStreamsPerClient: 100, startsPerMinute: 2, now: c.now });
    limits.admitStream('k')();
    limits.admitStream('k')();
    let thrown: unknown;
    try {
      limits.admitStream('k');
    } catch (error) {
      thrown = error;
    }
    expect(isTokenwireError(thrown) && thrown.code).toBe('rate_limited');
    expect(isTokenwireError(thrown) && thrown.retryAfterMs).toBe(30_000);
    c.advance(30_000);
    expect(limits.admitStream('k')).toBeTypeOf('function');
  });
});

describe('memory approval audit', () => {
  const record = (streamId: string, callId: string): ApprovalRecord => ({
    streamId,
    callId,
    tool: 't',
    argsSha256: 'x',
    decision: 'approved',
    instance: 'i',
    requestedAt: '2026-01-01T00:00:00.000Z',
    decidedAt: '2026-01-01T00:00:01.000Z',
    outcome: 'ok',
  });

  it('keeps records by stream, oldest first, and drops the oldest past its bound', async () => {
    const audit = createMemoryApprovalAudit(3);
    audit.append(record('s1', 'a'));
    audit.append(record('s2', 'b'));
    audit.append(record('s1', 'c'));
    expect((await audit.forStream('s1')).map((r) => r.callId)).toEqual(['a', 'c']);
    audit.append(record('s3', 'd'));
    expect((await audit.forStream('s1')).map((r) => r.callId)).toEqual(['c']);
    expect((await audit.forStream('s3')).map((r) => r.callId)).toEqual(['d']);
    expect(await audit.forStream('nope')).toEqual([]);
  });
});
