import { Redis } from 'ioredis';
import type { Logger } from '../../observability/log.js';

/** Redis did not answer at start (exit 2 with a clear message, never a half-started server). */
export class RedisUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Redis at ${redactUrl(url)} is not reachable (${cause instanceof Error ? cause.message : String(cause)}); start it, fix REDIS_URL, or unset REDIS_URL to keep streams in memory`, { cause });
    this.name = 'RedisUnavailableError';
  }
}

/** The URL without its password, for messages and logs. */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** The two connections a process keeps: commands (auto-pipelined) and subscriptions. */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  /** True while both connections are ready; new streams are refused otherwise (`store_unavailable`). */
  readonly available: boolean;
  close(): Promise<void>;
  /** Drops the connections this process opened at once (after `close` took too long). */
  disconnect(): void;
}

const connectTimeoutMs = 2_000;

function open(url: string, name: string, log: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    // Commands issued in one event-loop turn go out in one write: every frame of the turn in one round trip.
    enableAutoPipelining: true,
    // While Redis is away commands wait in order and go out on reconnect, so running
    // generations continue without a gap (docs/deployment.md, "Redis faults").
    maxRetriesPerRequest: null,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ err: error, connection: name }, 'Redis connection failed; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ connection: name }, 'Redis connection is back');
    down = false;
  });
  return redis;
}

/**
 * Opens both connections and checks them with a PING; throws RedisUnavailableError when Redis
 * does not answer within a few seconds.
 */
export async function connectRedis(url: string, log: Logger, name = 'tokenwire'): Promise<RedisConnections> {
  const commands = open(url, name, log);
  const subscriber = open(url, `${name}:sub`, log);
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
    await commands.ping();
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw new RedisUnavailableError(url, error);
  }
  return {
    commands,
    subscriber,
    get available() {
      return commands.status === 'ready' && subscriber.status === 'ready';
    },
    async close() {
      // QUIT waits for the replies of what is queued (the last frames); a dead server gets disconnect.
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
    disconnect() {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * The app's own ioredis client for commands, and a duplicate of it for subscriptions (a
 * subscribed connection can run no other command). Closing quits only the duplicate: the
 * app's client stays the app's. Throws RedisUnavailableError when it does not answer a PING.
 */
export async function connectRedisClient(client: Redis, log: Logger, name = 'tokenwire'): Promise<RedisConnections> {
  const subscriber = client.duplicate({ lazyConnect: true, connectionName: `${name}:sub`, maxRetriesPerRequest: null });
  subscriber.on('error', (error: Error) => log.warn({ err: error, connection: `${name}:sub` }, 'Redis connection failed; reconnecting'));
  const where = `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`;
  try {
    await subscriber.connect();
    await client.ping();
  } catch (error) {
    subscriber.disconnect();
    throw new RedisUnavailableError(`redis://${where}`, error);
  }
  return {
    commands: client,
    subscriber,
    get available() {
      return client.status === 'ready' && subscriber.status === 'ready';
    },
    async close() {
      await Promise.allSettled([subscriber.quit()]);
      subscriber.disconnect();
    },
    disconnect() {
      subscriber.disconnect();
    },
  };
}
