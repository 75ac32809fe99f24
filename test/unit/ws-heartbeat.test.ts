import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHeartbeat, type Heartbeat } from '../../server/edge/ws/ws-heartbeat.js';

class FakePeer extends EventEmitter {
  pings = 0;
  terminated = false;
  constructor(readonly answers: boolean) {
    super();
  }
  ping() {
    this.pings++;
    if (this.answers) queueMicrotask(() => this.emit('pong'));
  }
  terminate() {
    this.terminated = true;
  }
}

let heartbeat: Heartbeat;
beforeEach(() => {
  vi.useFakeTimers();
  heartbeat = createHeartbeat(1_000);
});
afterEach(() => {
  heartbeat.stop();
  vi.useRealTimers();
});

describe('heartbeat', () => {
  it('pings every interval and keeps a peer that answers', async () => {
    const peer = new FakePeer(true);
    heartbeat.add(peer);
    for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(peer.pings).toBe(5);
    expect(peer.terminated).toBe(false);
  });

  it('terminates a peer at the first tick after a ping it did not answer', async () => {
    const peer = new FakePeer(false);
    heartbeat.add(peer);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(peer.pings).toBe(1);
    expect(peer.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(peer.terminated).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(peer.pings).toBe(1);
  });

  it('forgets a removed peer: no more pings, no terminate', async () => {
    const peer = new FakePeer(false);
    heartbeat.add(peer);
    heartbeat.remove(peer);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(peer.pings).toBe(0);
    expect(peer.terminated).toBe(false);
  });
});
