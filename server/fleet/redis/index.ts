/**
 * `tokenwire/redis`: the Redis store, for a fleet of instances that share streams (resume on
 * any instance), control (cancel and decisions reach the stream's owner), per-client limits,
 * idempotency keys and the approval audit. Needs the `ioredis` package (an optional peer).
 * @packageDocumentation
 */
import type { Redis } from 'ioredis';
import { sharedStore, type StoreOption } from '../store-option.js';
import { createRedisFleet } from './redis-fleet.js';

export { RedisUnavailableError } from './connect.js';
export type { StoreOption } from '../store-option.js';

/**
 * Where the Redis store connects: a URL (`redis://[user:pass@]host:port[/db]`, `rediss://` for
 * TLS), for which tokenwire opens and closes its own two connections; or your ioredis `client`,
 * which tokenwire uses for commands and never closes (it opens one duplicate for pub/sub).
 */
export type RedisStoreOptions = { url: string; client?: never } | { client: Redis; url?: never };

/**
 * The Redis store for `createTokenwire({ store: redisStore({ url }) })`. Connects when the
 * instance is created; `tw.ready()` rejects with `RedisUnavailableError` when Redis does not
 * answer within a few seconds, and requests meanwhile get 503 `store_unavailable`.
 * @throws TypeError when neither a `redis://` URL nor a client is given.
 */
export function redisStore(options: RedisStoreOptions): StoreOption {
  const { url, client } = (options ?? {}) as { url?: unknown; client?: Redis };
  if (client === undefined) {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new TypeError('redisStore: give { url: "redis://host:port" } or { client } (an ioredis client)');
  } else if (typeof client.duplicate !== 'function') {
    throw new TypeError('redisStore: client must be an ioredis client (Redis instance)');
  }
  return sharedStore('redis', ({ config, instanceId, incarnation, log }) =>
    createRedisFleet({ ...config, REDIS_URL: typeof url === 'string' ? url : undefined }, { instanceId, incarnation }, log, client ? { client } : {}),
  );
}
