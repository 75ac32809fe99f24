import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApprovalGate, type Decision } from '../../server/engine/approvals.js';
import { streamTokenMatches } from '../../server/access/stream-access.js';
import { isTokenwireError } from '../../shared/errors.js';

afterEach(() => vi.useRealTimers());

const mine = { authorize: (streamId: string) => streamId === 'st_1' };
const theirs = { authorize: () => false };

/** The code a decision throws, or 'ok'. */
function attempt(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (!isTokenwireError(error)) throw error;
    return error.code;
  }
}

function pendingCall(gate = createApprovalGate(), expiresInMs = 60_000) {
  const controller = new AbortController();
  const decision = gate.wait({ callId: 'call_1', streamId: 'st_1', expiresAt: Date.now() + expiresInMs, signal: controller.signal });
  decision.catch(() => {});
  return { gate, decision, controller };
}

describe('approval gate', () => {
  it('is pending as soon as wait() returns, before anything awaits', () => {
    const { gate } = pendingCall();
    expect(gate.pending).toBe(1);
    expect(gate.streamOf('call_1')).toBe('st_1');
  });

  it('resolves the waiting engine with approved, once', async () => {
    const { gate, decision } = pendingCall();
    expect(gate.decide('call_1', 'approve', mine)).toEqual({ streamId: 'st_1' });
    await expect(decision).resolves.toEqual({ outcome: 'approved' } satisfies Decision);
    expect(gate.pending).toBe(0);
  });

  it('passes a denial reason on', async () => {
    const { gate, decision } = pendingCall();
    gate.decide('call_1', 'deny', { ...mine, reason: 'too far' });
    await expect(decision).resolves.toEqual({ outcome: 'denied', reason: 'too far' });
  });

  it('refuses a replay with already_decided, whatever the second decision is', async () => {
    const { gate, decision } = pendingCall();
    gate.decide('call_1', 'deny', mine);
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('already_decided');
    expect(attempt(() => gate.decide('call_1', 'deny', mine))).toBe('already_decided');
    await expect(decision).resolves.toEqual({ outcome: 'denied' });
  });

  it('refuses an unauthorised caller with forbidden and leaves the call pending', () => {
    const { gate } = pendingCall();
    expect(attempt(() => gate.decide('call_1', 'approve', theirs))).toBe('forbidden');
    expect(gate.pending).toBe(1);
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('ok');
  });

  it('tells an unauthorised caller forbidden even for a decided call, so it learns nothing of its state', () => {
    const { gate } = pendingCall();
    gate.decide('call_1', 'approve', mine);
    expect(attempt(() => gate.decide('call_1', 'approve', theirs))).toBe('forbidden');
  });

  it('answers unknown_call for a call it never saw', () => {
    expect(attempt(() => createApprovalGate().decide('call_x', 'approve', mine))).toBe('unknown_call');
  });

  it('expires on its timer: the engine gets expired, a late decision approval_expired', async () => {
    vi.useFakeTimers();
    const { gate, decision } = pendingCall(createApprovalGate(), 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(decision).resolves.toEqual({ outcome: 'expired' });
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('approval_expired');
  });

  it('refuses a decision after expiresAt even when the timer has not fired yet (a busy event loop)', async () => {
    let now = 1_000_000;
    const gate = createApprovalGate({ now: () => now });
    const controller = new AbortController();
    const decision = gate.wait({ callId: 'call_1', streamId: 'st_1', expiresAt: now + 500, signal: controller.signal });
    now += 500;
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('approval_expired');
    await expect(decision).resolves.toEqual({ outcome: 'expired' });
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('approval_expired');
  });

  it('rejects the waiting engine with the abort reason, and a later decision finds no pending call', async () => {
    const { gate, decision, controller } = pendingCall();
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(decision).rejects.toBe(reason);
    expect(gate.pending).toBe(0);
    expect(attempt(() => gate.decide('call_1', 'approve', mine))).toBe('unknown_call');
  });

  it('remembers a bounded number of settled calls', () => {
    const gate = createApprovalGate({ remember: 2 });
    for (const id of ['a', 'b', 'c']) {
      const p = gate.wait({ callId: id, streamId: 'st_1', expiresAt: Date.now() + 60_000, signal: new AbortController().signal });
      p.catch(() => {});
      gate.decide(id, 'approve', mine);
    }
    expect(gate.streamOf('a')).toBeUndefined();
    expect(attempt(() => gate.decide('c', 'approve', mine))).toBe('already_decided');
  });
});

describe('streamTokenMatches', () => {
  it('matches the exact token only', () => {
    expect(streamTokenMatches('apr_secret', 'apr_secret')).toBe(true);
    expect(streamTokenMatches('apr_secret', 'apr_secreT')).toBe(false);
    expect(streamTokenMatches('apr_secret', 'apr_secret2')).toBe(false);
    expect(streamTokenMatches('apr_secret', '')).toBe(false);
    expect(streamTokenMatches('apr_secret', undefined)).toBe(false);
  });
});
