import { TokenwireError } from '../../../shared/errors.js';
import type { SharedClientLimits } from '../../access/client-limits.js';
import { KEYS } from './keys.js';
import type { Scripts } from './scripts.js';

/**
 * The per-client limits across every instance: open streams counted per
 * owner incarnation (an instance that died stops counting once its lease is gone) and one
 * token bucket of starts per client, both in one script run.
 */
export function createRedisClientLimits(options: { scripts: Scripts; incarnation: string; maxStreamsPerClient: number; startsPerMinute: number }): SharedClientLimits {
  const { scripts, incarnation } = options;
  const leasePrefix = KEYS.lease('');
  return {
    async admitStream(key) {
      const openKey = KEYS.openStreams(key);
      const [verdict, waitMs] = await scripts.admit([openKey, KEYS.starts(key)], [options.maxStreamsPerClient, options.startsPerMinute, 60_000, Date.now(), incarnation, leasePrefix]);
      if (verdict === 1) throw new TokenwireError('too_many_streams', `At most ${options.maxStreamsPerClient} streams may be open per client.`, { retryAfterMs: waitMs });
      if (verdict === 2) throw new TokenwireError('rate_limited', `At most ${options.startsPerMinute} streams may be started per minute.`, { retryAfterMs: waitMs });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        scripts.release(openKey, incarnation).catch(() => {});
      };
    },
  };
}
