/**
 * `tokenwire/react`: `useChatStream`, the React (18 or 19) binding of the chat client, and the
 * types its signatures name. Make the client with `createChatClient` from `tokenwire/client`.
 * @packageDocumentation
 */
import { createChatStore, type ChatState } from './chat-store.js';
// The package comment above sits on an import the declaration file keeps; it drops this one.
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type { WireFrame } from './frame-log.js';
import type { ApproveOptions, ChatClient, ChatInput, ChatStream, DenyOptions, StreamRef } from './types.js';

// The types this hook's signatures reach, so an app can name them without a second import;
// the client itself (`createChatClient`) comes from `tokenwire/client`.
export type { ChatState, ChatStatus } from './chat-store.js';
export type { WireFrame } from './frame-log.js';
export type {
  ApproveOptions,
  ChatClient,
  ChatInput,
  ChatResult,
  ChatStream,
  ChatStreamEvents,
  ChatStreamStatus,
  DenyOptions,
  Fallback,
  StreamRef,
  StreamStats,
  TokenBatch,
  ToolCall,
  ToolCallStatus,
  ToolResult,
  TransportChoice,
  TransportName,
} from './types.js';
export { ERROR_CODES, TokenwireError, isTokenwireError, type ErrorCode } from '../shared/errors.js';
export type { HiddenCharacters } from '../shared/hidden-characters.js';
export type { ChatMessage, ChatOptions, DoneReason, ServerFrame, Usage } from '../shared/protocol.js';

/** Defaults for the chats a hook sends from a plain prompt. */
export type UseChatStreamOptions = Omit<ChatInput, 'messages'>;

/** What `useChatStream` returns: the current chat's state and its actions. */
export interface UseChatStream extends ChatState {
  /** Starts a chat (cancelling the current one): a prompt, or a whole `ChatInput`. */
  send(input: string | ChatInput): ChatStream;
  /**
   * Continues the conversation (`messages`: the last chat's messages and its answer's tool
   * turns) with this user message, with the last chat's tools and options (the hook's options
   * before any); cancels the current chat.
   */
  followUp(content: string): ChatStream;
  /** Follows a stream again from where `ref` left it (e.g. after a reload); cancels the current one. */
  resume(ref: StreamRef): ChatStream;
  /** Approves the pending tool call (with edited `args`, if given); a refusal lands in `error`, the promise never rejects. */
  approve(options?: ApproveOptions): Promise<void>;
  /** Denies the pending tool call, with a reason (and code) the model is told; never rejects either. */
  deny(reason?: string | DenyOptions): Promise<void>;
  /** Cancels the current chat: the server stops the model; `status` becomes `cancelled`. */
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

  const followUp = useCallback((content: string) => store.followUp(content, defaults.current), [store]);

  return {
    ...state,
    send,
    followUp,
    resume: store.resume,
    approve: store.approve,
    deny: store.deny,
    cancel: store.cancel,
    dropConnection: store.dropConnection,
    recentFrames: store.recentFrames,
  };
}
