import { createHash } from 'node:crypto';
import type { StreamAccess } from '../access/stream-access.js';

/** Where a protocol's conversation (an AI SDK chat, an AG-UI thread or run) reads from. */
export interface ConversationEntry {
  streamId: string;
  /**
   * The stream's token. These protocols carry no stream token, so for an anonymous stream the
   * conversation's ids stand for it; a stream bound to a subject needs that subject as well.
   */
  streamToken: string;
  /** The first response's frames start after this seq. */
  fromSeq: number;
  /** Frames up to this seq only rebuild the mapper's state (a continuation after a decision). */
  silentThrough?: number | undefined;
  /** The call whose decision started this response: its approval does not pause it again. */
  decidedCallId?: string | undefined;
}

/**
 * Conversation keys → streams: in this process's memory for one process, in Redis with a
 * fleet (server/fleet/redis/redis-conversations.ts), so a resume, cancel or decision that reaches
 * another instance finds the conversation. Reads and writes may throw `store_unavailable`.
 */
export interface Conversations {
  get(key: string): Promise<ConversationEntry | undefined>;
  /** Keeps `entry` under `key`, replacing what was there, for at least `ttlMs` (the stream's grace plus its TTL). */
  set(key: string, entry: ConversationEntry, ttlMs: number): Promise<void>;
}

/**
 * The key of a conversation: the caller's subject (hashed, as start keys are), then the
 * protocol's own ids. The ids are chosen by the client, so two subjects using the same ids have
 * two conversations; an anonymous caller's (subject undefined) are shared by whoever knows the ids.
 */
export const conversationKey = (subject: string | undefined, ...ids: string[]): string =>
  `${subject === undefined ? 'anon' : `sub:${createHash('sha256').update(subject).digest('base64url')}`}:${JSON.stringify(ids)}`;

/** What a caller shows for a conversation's stream: its subject, and the token the conversation holds. */
export const accessThrough = (entry: ConversationEntry, subject: string | undefined): StreamAccess => ({ subject, token: entry.streamToken });

/**
 * Conversations in this process's memory, bounded: past `max` entries the oldest is forgotten.
 * No expiry: an entry outlives its stream only until the hub forgets the stream, which callers check.
 */
export function createMemoryConversations(max = 10_000): Conversations {
  const entries = new Map<string, ConversationEntry>();
  return {
    get: async (key) => entries.get(key),
    async set(key, entry) {
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
  };
}
