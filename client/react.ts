import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { createChatStore, type ChatState } from './chat-store.js';
import type { WireFrame } from './frame-log.js';
import type { ChatClient, ChatInput, ChatStream, StreamRef } from './types.js';

/** Defaults for the chats a hook sends from a plain prompt. */
export type UseChatStreamOptions = Omit<ChatInput, 'messages'>;

/** What `useChatStream` returns: the current chat's state and its actions. */
export interface UseChatStream extends ChatState {
  /** Starts a chat (cancelling the current one): a prompt, or a whole `ChatInput`. */
  send(input: string | ChatInput): ChatStream;
  /** Follows a stream again from where `ref` left it (e.g. after a reload); cancels the current one. */
  resume(ref: StreamRef): ChatStream;
  approve(): Promise<void>;
  deny(reason?: string): Promise<void>;
  cancel(): void;
  /** Cuts the current chat's connection, as a network failure would: it resumes and loses nothing. */
  dropConnection(): void;
  /** The current chat's last frames, raw as on the wire. */
  recentFrames(): readonly WireFrame[];
}

/**
 * React binding of the chat client: one chat at a time, re-rendered once per token batch.
 * Unmounting cancels the chat (the server stops the model; a task later, so StrictMode's
 * rehearsal unmount does not) and unsubscribes, so no state is set afterwards. React stays a peer dependency: only this file imports it.
 */
export function useChatStream(client: ChatClient, options: UseChatStreamOptions = {}): UseChatStream {
  const store = useMemo(() => createChatStore(client), [client]);
  // StrictMode (development) mounts, unmounts and mounts again at once: cancel only an unmount
  // that is still one a task later, or a chat sent at mount would be cancelled by the rehearsal.
  const mounts = useRef(0);
  useEffect(() => {
    const mount = ++mounts.current;
    return () => void setTimeout(() => mounts.current === mount && store.cancel(), 0);
  }, [store]);
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);

  const defaults = useRef(options);
  useEffect(() => {
    defaults.current = options;
  });

  const send = useCallback(
    (input: string | ChatInput) =>
      store.send(typeof input === 'string' ? { ...defaults.current, messages: [{ role: 'user', content: input }] } : input),
    [store],
  );

  return {
    ...state,
    send,
    resume: store.resume,
    approve: store.approve,
    deny: store.deny,
    cancel: store.cancel,
    dropConnection: store.dropConnection,
    recentFrames: store.recentFrames,
  };
}
