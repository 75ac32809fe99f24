import type { ServerFrame } from '../../shared/protocol.js';
import { createHub, type HubOptions, type Stream } from '../../server/streams/hub.js';
import { createMemoryStore } from '../../server/streams/memory-store.js';

/** A hub on a memory store with roomy budgets, for unit tests; `over` replaces any option. */
export const createTestHub = (over: Partial<HubOptions> = {}) =>
  createHub({
    store: createMemoryStore({ maxStreamBytes: 1 << 24, maxTotalBytes: 1 << 26, maxFrames: 10_000 }),
    ttlMs: 1_000,
    maxStreams: 10,
    maxGraceMs: 60_000,
    droppedGraceMs: 30_000,
    ...over,
  });

/** The frames a stream's log holds after `afterSeq` (default: all); fails when they are no longer kept. */
export async function loggedFrames(stream: Pick<Stream, 'read'> | undefined, afterSeq = -1): Promise<ServerFrame[]> {
  if (!stream) throw new Error('no such stream');
  const read = await stream.read(afterSeq);
  if (read.status !== 'ok') throw new Error(`the log answered ${read.status}`);
  return read.records.map((r) => r.frame);
}
