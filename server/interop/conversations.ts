/** Where a protocol's conversation (an AI SDK chat, an AG-UI thread or run) reads from. */
export interface ConversationEntry {
  streamId: string;
  /** The first response's frames start after this seq. */
  fromSeq: number;
  /** Frames up to this seq only rebuild the mapper's state (a continuation after a decision). */
  silentThrough?: number | undefined;
  /** The call whose decision started this response: its approval does not pause it again. */
  decidedCallId?: string | undefined;
}

/** Conversation ids → streams, bounded: past `max` entries the oldest is forgotten. */
export interface Conversations {
  get(key: string): ConversationEntry | undefined;
  set(key: string, entry: ConversationEntry): void;
}

/**
 * The in-process map from a protocol's own ids (chosen by its client) to tokenwire streams.
 * An entry outlives its stream only until the hub forgets the stream, which callers check.
 */
export function createConversations(max = 10_000): Conversations {
  const entries = new Map<string, ConversationEntry>();
  return {
    get: (key) => entries.get(key),
    set(key, entry) {
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
  };
}
