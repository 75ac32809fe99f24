import type { Redis } from 'ioredis';
import { TokenwireError } from '../../../shared/errors.js';
import type { ApprovalAudit } from '../../engine/approval-audit.js';
import type { ApprovalRecord } from '../../engine/approval-record.js';
import { KEYS } from './keys.js';

/** How long a stream's audit records stay in Redis after the last one. */
const AUDIT_TTL_MS = 7 * 24 * 3_600_000;

/**
 * The approval audit trail in Redis: a list per stream, so any instance answers
 * GET /api/streams/:id/approvals; at most `maxRecords` per stream, kept a week after the last.
 */
export function createRedisApprovalAudit(redis: Redis, maxRecords: number, onError: (error: unknown) => void): ApprovalAudit {
  return {
    append(record) {
      const key = KEYS.audit(record.streamId);
      redis.rpush(key, JSON.stringify(record)).catch(onError);
      redis.ltrim(key, -maxRecords, -1).catch(onError);
      redis.pexpire(key, AUDIT_TTL_MS).catch(onError);
    },
    async forStream(streamId) {
      if (redis.status !== 'ready') throw new TokenwireError('store_unavailable');
      const raw = await redis.lrange(KEYS.audit(streamId), 0, -1);
      return raw.map((json) => JSON.parse(json) as ApprovalRecord);
    },
  };
}
