import { createHash } from 'node:crypto';
import type { ChatRequest } from '../../shared/protocol.js';

/** What an idempotency key started: the stream and a digest of the request that started it. */
export interface StartRecord {
  readonly streamId: string;
  readonly fingerprint: string;
}

/**
 * Idempotency keys of chat starts (issue 17): key → the stream it started, kept for the
 * stream's resume window. Per process in memory; in Redis with a fleet, so a retried start
 * that lands on another instance finds the same stream.
 */
export interface StartKeys {
  /** The record of `key`, if it is still kept. */
  get(key: string): Promise<StartRecord | undefined>;
  /** Keeps `record` under `key` for `ttlMs` unless a record is there already; answers the record that holds. */
  claim(key: string, record: StartRecord, ttlMs: number): Promise<StartRecord>;
}

/** A key as stored: scoped to the caller's subject, so one subject's key never finds another's stream. */
export const scopedStartKey = (key: string, subject: string | undefined): string =>
  subject === undefined ? `anon:${key}` : `sub:${createHash('sha256').update(subject).digest('base64url')}:${key}`;

/** A digest of a chat request: the same body, the same fingerprint (zod emits keys in schema order). */
export const requestFingerprint = (request: ChatRequest): string => createHash('sha256').update(JSON.stringify(request)).digest('base64url');

/** Start keys in this process's memory: at most `maxKeys`, the oldest let go first. */
export function createMemoryStartKeys(maxKeys: number): StartKeys {
  const kept = new Map<string, StartRecord & { expiresAt: number }>();
  const live = (key: string) => {
    const found = kept.get(key);
    if (found === undefined || found.expiresAt > Date.now()) return found;
    kept.delete(key);
    return undefined;
  };
  return {
    get: async (key) => live(key),
    async claim(key, record, ttlMs) {
      const held = live(key);
      if (held) return held;
      kept.set(key, { ...record, expiresAt: Date.now() + ttlMs });
      // Insertion order is roughly expiry order: letting the first go keeps the map bounded.
      while (kept.size > maxKeys) kept.delete(kept.keys().next().value as string);
      return record;
    },
  };
}
