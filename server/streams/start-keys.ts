import { createHash } from 'node:crypto';
import type { ChatRequest } from '../../shared/protocol.js';

/** What an idempotency key started: the stream and a digest of the request that started it. */
export interface StartRecord {
  readonly streamId: string;
  readonly fingerprint: string;
}

/**
 * What claiming a key finds: `claimed` (this start holds the key: it makes the stream, then
 * `fill`s or `drop`s the claim), `started` (the key names a stream), or `pending` (another
 * start of the key is making its stream: wait for it with `settled`, then claim again).
 */
export type StartClaim =
  | { status: 'claimed'; claim: string }
  | { status: 'started'; record: StartRecord }
  | { status: 'pending'; fingerprint: string };

/**
 * Idempotency keys of chat starts: key → the stream it started, kept for the
 * stream's resume window. A start claims its key before it is admitted or makes its stream, so
 * of starts that race with one key only the first costs the client a start or a stream slot;
 * the rest wait for its stream. Per process in memory; in Redis with a fleet, so a retried
 * start that lands on another instance finds the same stream.
 */
export interface StartKeys {
  /** Claims `key` for `reserveMs` unless a record or another claim holds it (then that). */
  claim(key: string, fingerprint: string, reserveMs: number): Promise<StartClaim>;
  /** Names the claimed key's stream for `ttlMs`; false when the claim lapsed and another start took the key. */
  fill(key: string, claim: string, record: StartRecord, ttlMs: number): Promise<boolean>;
  /** Lets go of a claim whose start failed, so a waiting start may claim the key. */
  drop(key: string, claim: string): Promise<void>;
  /** Resolves once the key holds no pending claim (filled, dropped or lapsed), or after `maxMs`. */
  settled(key: string, maxMs: number): Promise<void>;
}

/** A key as stored: scoped to the caller's subject, so one subject's key never finds another's stream. */
export const scopedStartKey = (key: string, subject: string | undefined): string =>
  subject === undefined ? `anon:${key}` : `sub:${createHash('sha256').update(subject).digest('base64url')}:${key}`;

/** A digest of a chat request: the same body, the same fingerprint (zod emits keys in schema order). */
export const requestFingerprint = (request: ChatRequest): string => createHash('sha256').update(JSON.stringify(request)).digest('base64url');

type Held = { expiresAt: number } & ({ record: StartRecord } | { claim: string; fingerprint: string });

/** Start keys in this process's memory: at most `maxKeys`, the oldest let go first. */
export function createMemoryStartKeys(maxKeys: number): StartKeys {
  const kept = new Map<string, Held>();
  /** Starts waiting for a key's claim to settle. */
  const waiting = new Map<string, Set<() => void>>();
  let claims = 0;
  const live = (key: string) => {
    const found = kept.get(key);
    if (found === undefined || found.expiresAt > Date.now()) return found;
    kept.delete(key);
    return undefined;
  };
  const settle = (key: string) => {
    for (const wake of waiting.get(key) ?? []) wake();
    waiting.delete(key);
  };
  const keep = (key: string, held: Held) => {
    kept.delete(key);
    kept.set(key, held);
    // Insertion order is roughly expiry order: letting the first go keeps the map bounded.
    while (kept.size > maxKeys) kept.delete(kept.keys().next().value as string);
  };
  return {
    async claim(key, fingerprint, reserveMs) {
      const held = live(key);
      if (held && 'record' in held) return { status: 'started', record: held.record };
      if (held) return { status: 'pending', fingerprint: held.fingerprint };
      const claim = `c${++claims}`;
      keep(key, { claim, fingerprint, expiresAt: Date.now() + reserveMs });
      return { status: 'claimed', claim };
    },
    async fill(key, claim, record, ttlMs) {
      const held = live(key);
      if (!held || !('claim' in held) || held.claim !== claim) return false;
      keep(key, { record, expiresAt: Date.now() + ttlMs });
      settle(key);
      return true;
    },
    async drop(key, claim) {
      const held = live(key);
      if (held && 'claim' in held && held.claim === claim) kept.delete(key);
      settle(key);
    },
    settled(key, maxMs) {
      const held = live(key);
      if (!held || !('claim' in held)) return Promise.resolve();
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waiting.get(key)?.delete(wake);
          resolve();
        };
        // A claim that lapses settles without a call: its expiry wakes the waiter.
        const timer = setTimeout(wake, Math.max(0, Math.min(maxMs, held.expiresAt - Date.now())));
        let wakes = waiting.get(key);
        if (!wakes) waiting.set(key, (wakes = new Set()));
        wakes.add(wake);
      });
    },
  };
}
