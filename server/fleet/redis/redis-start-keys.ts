import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import type { StartClaim, StartKeys, StartRecord } from '../../streams/start-keys.js';
import { CHANNELS, KEYS } from './keys.js';
import type { Scripts } from './scripts.js';
import type { StoreHealth } from './store-health.js';
import type { Subscriptions } from './subscriptions.js';

type Held = { streamId: string; fingerprint: string } | { claim: string; fingerprint: string };

const parse = (raw: string | null): Held | undefined => {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<Record<'streamId' | 'claim' | 'fingerprint', unknown>>;
    if (typeof value.fingerprint !== 'string') return undefined;
    if (typeof value.streamId === 'string') return { streamId: value.streamId, fingerprint: value.fingerprint };
    if (typeof value.claim === 'string') return { claim: value.claim, fingerprint: value.fingerprint };
    return undefined;
  } catch {
    return undefined;
  }
};

/**
 * Start idempotency keys in Redis. A start claims its key (a script: the claim is
 * written only where nothing holds), so of instances racing with one key exactly one admits and
 * makes a stream; the others wait on the key's channel until the claim is filled with the
 * stream (or dropped, or lapses) and then find it. Every Redis call a request waits on goes
 * through `guard` (503 `store_unavailable` past the deadline); the wait itself is bounded by the
 * claim's own expiry.
 */
export function createRedisStartKeys(deps: { redis: Redis; scripts: Scripts; subscriptions: Subscriptions; guard: StoreHealth['guard'] }): StartKeys {
  const { redis, scripts, subscriptions, guard } = deps;
  return {
    async claim(key, fingerprint, reserveMs): Promise<StartClaim> {
      // The claim as stored is its own token: fill and drop compare it whole.
      const claim = JSON.stringify({ claim: nanoid(12), fingerprint });
      const raw = await guard(() => scripts.claimStart(KEYS.start(key), [claim, Math.max(1, reserveMs)]));
      if (raw === claim) return { status: 'claimed', claim };
      const held = parse(raw);
      if (held && 'streamId' in held) return { status: 'started', record: held };
      // An unreadable value is treated as a claim in progress: it lapses with its expiry.
      return { status: 'pending', fingerprint: held?.fingerprint ?? fingerprint };
    },
    async fill(key, claim, record: StartRecord, ttlMs) {
      const json = JSON.stringify({ streamId: record.streamId, fingerprint: record.fingerprint });
      return (await guard(() => scripts.fillStart(KEYS.start(key), [claim, json, Math.max(1, ttlMs), CHANNELS.started(key)]))) === 1;
    },
    async drop(key, claim) {
      await guard(() => scripts.dropStart(KEYS.start(key), [claim, CHANNELS.started(key)]));
    },
    async settled(key, maxMs) {
      let wake: () => void = () => {};
      const woken = new Promise<void>((resolve) => (wake = resolve));
      // Listening before looking: a fill between the look and the wait still wakes it.
      const listening = subscriptions.listen(CHANNELS.started(key), () => wake());
      let timer: NodeJS.Timeout | undefined;
      try {
        await guard(() => listening.ready);
        const [raw, pttl] = await guard(() => Promise.all([redis.get(KEYS.start(key)), redis.pttl(KEYS.start(key))]));
        const held = parse(raw);
        if (!held || 'streamId' in held || pttl <= 0) return;
        // A claim whose start died lapses at its expiry: then this start may claim the key.
        timer = setTimeout(wake, Math.min(maxMs, pttl));
        await woken;
      } finally {
        clearTimeout(timer);
        listening.stop();
      }
    },
  };
}
