import type { Redis } from 'ioredis';
import type { StartKeys, StartRecord } from '../streams/start-keys.js';
import { KEYS } from './keys.js';

const parse = (raw: string | null): StartRecord | undefined => {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<StartRecord>;
    return typeof value.streamId === 'string' && typeof value.fingerprint === 'string' ? { streamId: value.streamId, fingerprint: value.fingerprint } : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Start idempotency keys in Redis (issue 17): `SET NX PX`, so of two instances racing with the
 * same key exactly one record holds, and a retry on any instance finds it until the TTL.
 */
export function createRedisStartKeys(redis: Redis): StartKeys {
  return {
    get: async (key) => parse(await redis.get(KEYS.start(key))),
    async claim(key, record, ttlMs) {
      const json = JSON.stringify({ streamId: record.streamId, fingerprint: record.fingerprint });
      const set = await redis.set(KEYS.start(key), json, 'PX', Math.max(1, ttlMs), 'NX');
      if (set === 'OK') return record;
      return parse(await redis.get(KEYS.start(key))) ?? record;
    },
  };
}
