import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/log.js';
import { CHANNELS, KEYS } from './keys.js';
import type { Scripts } from './scripts.js';

export interface OwnershipOptions {
  redis: Redis;
  scripts: Scripts;
  /** This process's incarnation (instance#random): the lease it holds and renews. */
  incarnation: string;
  instanceId: string;
  /** OWNER_LEASE_MS: the lease's time to live; it is renewed four times per lease. */
  leaseMs: number;
  /** STREAM_TTL_MS: how long a log that was ended for its lost owner is kept. */
  ttlMs: number;
  /** Called on every renewal (the store pushes back its running logs' expiry). */
  onRenew(now: number): void;
  /** Called after Redis came back, or lost this process's lease: write what this process owns again (Redis may have lost it). */
  onReconnect(): void;
  log: Logger;
}

/** The lease of this process and the watch on the owners of what it views. */
export interface Ownership {
  /** Watches the owner of a stream viewed here: when its lease is gone the stream ends with `owner_lost`. */
  watch(streamId: string, owner: string): () => void;
  /** Watches an instance with viewers of a stream owned here: `onGone` when its lease is gone. */
  watchViewer(incarnation: string, onGone: () => void): () => void;
  /** Renews the lease now (start-up, and after a reconnect). */
  renew(): Promise<void>;
  close(): Promise<void>;
}

const OWNER_LOST_MESSAGE = 'The instance running this stream stopped answering; resume or start again.';

/**
 * Holds this process's lease (`SET tw:lease:<incarnation> PX OWNER_LEASE_MS`, renewed every
 * quarter lease) and checks, on the same beat, the leases of the owners whose streams are
 * viewed here and of the instances that view streams owned here. An owner seen without a lease
 * on two beats in a row is gone: its viewed streams get `error` (owner_lost) and `done`,
 * written once into the log by a script that refuses while the lease exists (scripts.ts).
 */
export function createOwnership(options: OwnershipOptions): Ownership {
  const { redis, scripts, incarnation, leaseMs } = options;
  const beatMs = Math.max(100, Math.floor(leaseMs / 4));
  /** Owner incarnation → streams viewed here that it runs. */
  const watched = new Map<string, Set<string>>();
  /** Viewer incarnation → what to do when it is gone. */
  const viewers = new Map<string, Set<() => void>>();
  /** Incarnations seen without a lease on the last beat. */
  const missing = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  // PEXPIRE first: Redis takes it when it refuses writes for memory, so a full Redis never
  // makes a healthy owner look dead. SET only when the lease is missing (start, a restarted Redis).
  let held = false;
  const renew = async () => {
    if ((await redis.pexpire(KEYS.lease(incarnation), leaseMs)) === 1) return;
    await redis.set(KEYS.lease(incarnation), options.instanceId, 'PX', leaseMs);
    // The lease was set before and is gone though this process renewed it: Redis lost its keys
    // without the connection dropping (a flush, a failover to an empty replica). Write them back.
    if (held) options.onReconnect();
    held = true;
  };

  async function takeOver(owner: string): Promise<void> {
    for (const streamId of watched.get(owner) ?? []) {
      const ended = await scripts.takeover([KEYS.log(streamId), KEYS.lease(owner), KEYS.meta(streamId)], [streamId, CHANNELS.frames(streamId), options.ttlMs, OWNER_LOST_MESSAGE]);
      if (ended === 1) options.log.warn({ streamId, owner }, 'owner lost: ended the stream with owner_lost');
    }
  }

  async function beat(): Promise<void> {
    const now = Date.now();
    void renew().catch(() => {});
    options.onRenew(now);
    const others = new Set([...watched.keys(), ...viewers.keys()]);
    if (others.size === 0) return;
    const leases = await Promise.all([...others].map(async (other) => [other, await redis.exists(KEYS.lease(other))] as const));
    for (const [other, exists] of leases) {
      if (exists === 1) {
        missing.delete(other);
        continue;
      }
      if (!missing.has(other)) {
        missing.add(other);
        continue;
      }
      if (watched.has(other)) await takeOver(other);
      for (const onGone of viewers.get(other) ?? []) onGone();
      viewers.delete(other);
    }
  }

  const schedule = () => {
    timer = setTimeout(() => {
      // Only while Redis answers: an outage is not an owner's death.
      const run = redis.status === 'ready' ? beat() : Promise.resolve();
      run.catch((error: unknown) => options.log.warn({ err: error }, 'lease beat failed')).finally(() => timer && schedule());
    }, beatMs);
    timer.unref();
  };
  schedule();

  redis.on('ready', () => {
    missing.clear();
    void renew().catch(() => {});
    options.onReconnect();
  });

  return {
    watch(streamId, owner) {
      const streams = watched.get(owner) ?? new Set<string>();
      streams.add(streamId);
      watched.set(owner, streams);
      return () => {
        streams.delete(streamId);
        if (streams.size === 0 && watched.get(owner) === streams) watched.delete(owner);
      };
    },
    watchViewer(viewer, onGone) {
      const callbacks = viewers.get(viewer) ?? new Set<() => void>();
      callbacks.add(onGone);
      viewers.set(viewer, callbacks);
      return () => {
        callbacks.delete(onGone);
        if (callbacks.size === 0 && viewers.get(viewer) === callbacks) viewers.delete(viewer);
      };
    },
    renew,
    async close() {
      clearTimeout(timer);
      timer = undefined;
      // Give the lease up at once: a graceful stop has already ended its streams.
      await redis.del(KEYS.lease(incarnation)).catch(() => {});
    },
  };
}
