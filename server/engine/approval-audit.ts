import type { ApprovalRecord } from './approval-record.js';

/**
 * Where approval records are kept for `GET /api/streams/:id/approvals`. This is the
 * seam the Redis one replaces (REDIS_URL, server/fleet/redis/redis-audit.ts); this one keeps the newest
 * records in memory.
 */
export interface ApprovalAudit {
  append(record: ApprovalRecord): void;
  /** A stream's records, oldest first. */
  forStream(streamId: string): Promise<ApprovalRecord[]>;
}

/** The newest `maxRecords` records in process memory, indexed by stream. */
export function createMemoryApprovalAudit(maxRecords: number): ApprovalAudit {
  const byStream = new Map<string, ApprovalRecord[]>();
  // Streams in the order of their first record: past the bound, the oldest stream's records go first.
  let total = 0;

  const evictOldest = () => {
    const first = byStream.entries().next();
    if (first.done) return;
    const [streamId, records] = first.value;
    records.shift();
    total--;
    if (records.length === 0) byStream.delete(streamId);
  };

  return {
    append(record) {
      const records = byStream.get(record.streamId);
      if (records) records.push(record);
      else byStream.set(record.streamId, [record]);
      total++;
      while (total > maxRecords) evictOldest();
    },
    forStream: (streamId) => Promise.resolve([...(byStream.get(streamId) ?? [])]),
  };
}
