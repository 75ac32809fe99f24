import type { Conversations, ConversationEntry } from '../conversations.js';
import { KEYS } from './keys.js';
import type { Scripts } from './scripts.js';

/** The hash fields of a conversation entry (ttlMs is the script's own). */
const fieldsOf = (entry: ConversationEntry): Record<string, string> => ({
  streamId: entry.streamId,
  streamToken: entry.streamToken,
  fromSeq: String(entry.fromSeq),
  ...(entry.silentThrough !== undefined ? { silentThrough: String(entry.silentThrough) } : {}),
  ...(entry.decidedCallId !== undefined ? { decidedCallId: entry.decidedCallId } : {}),
});

/** The entry from HGETALL's pairs, or undefined when the hash is missing or incomplete. */
function parse(pairs: string[]): ConversationEntry | undefined {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string;
  if (!hash.streamId || !hash.streamToken || hash.fromSeq === undefined) return undefined;
  return {
    streamId: hash.streamId,
    streamToken: hash.streamToken,
    fromSeq: Number(hash.fromSeq),
    ...(hash.silentThrough !== undefined ? { silentThrough: Number(hash.silentThrough) } : {}),
    ...(hash.decidedCallId !== undefined ? { decidedCallId: hash.decidedCallId } : {}),
  };
}

/**
 * Interop conversations in Redis, one hash per conversation key (`tw:conv:<key>`, the key
 * scoped by subject as in memory), so every instance resolves a chat id or an AG-UI run to its
 * stream. Each lives for the TTL it was written with, counted again from every read.
 */
export function createRedisConversations(scripts: Scripts): Conversations {
  return {
    get: async (key) => parse(await scripts.getConversation(KEYS.conversation(key))),
    async set(key, entry, ttlMs) {
      await scripts.setConversation(KEYS.conversation(key), Math.max(1, Math.ceil(ttlMs)), fieldsOf(entry));
    },
  };
}
