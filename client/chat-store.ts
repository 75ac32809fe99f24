import type { TokenwireError } from '../shared/errors.js';
import type { WireFrame } from './frame-log.js';
import { toTokenwireError } from '../shared/errors.js';
import type { ChatMessage } from '../shared/protocol.js';
import type {
  ApproveOptions,
  ChatClient,
  ChatInput,
  ChatResult,
  ChatStream,
  ChatStreamStatus,
  DenyOptions,
  Fallback,
  StreamRef,
  StreamStats,
  ToolCall,
  ToolResult,
  TransportName,
} from './types.js';

/** `idle` before the first chat; then the current stream's status. */
export type ChatStatus = 'idle' | ChatStreamStatus;

/** An immutable snapshot of the current chat, for UIs. */
export interface ChatState {
  /** The answer text rendered so far (flushed token batches). */
  text: string;
  /** The model's reasoning ("thinking") so far; empty when it streams none. */
  reasoning: string;
  /** `idle` before the first chat, then the current stream's status. */
  status: ChatStatus;
  /** The first tool call still waiting for a person's decision; `approve()`/`deny()` decide it. */
  pendingApproval: ToolCall | null;
  /** The last error: an error frame, a local failure, or a refused decision. */
  error: TokenwireError | null;
  /** The chat's tool calls so far, in order. */
  toolCalls: readonly ToolCall[];
  /** The chat's tool results so far, in order. */
  toolResults: readonly ToolResult[];
  /** The stream's counters and timings as of this snapshot; null while idle. */
  stats: StreamStats | null;
  /** The stream's id once the server named it; null before. */
  streamId: string | null;
  /** The transport carrying the chat; null while idle. */
  transport: TransportName | null;
  /** Why the chat fell back from the WebSocket to SSE, if it did. */
  fallback: Fallback | null;
  /** How the chat ended; null while it runs (and while idle). */
  result: ChatResult | null;
  /** Where to pick the stream up again (`resume`), e.g. after a reload; null before the server named it. */
  ref: StreamRef | null;
  /**
   * The conversation so far: the messages the current chat sent, then what its answer adds
   * (`ChatStream.messages`: tool calls, their results, reasoning, text). `followUp` sends it on.
   * After `resume`, only what the resumed stream replayed.
   */
  messages: readonly ChatMessage[];
}

/** One chat at a time as an external store (`subscribe` + `getState`), with its actions. */
export interface ChatStore {
  /** The current snapshot: the same object until something changes (as `useSyncExternalStore` requires). */
  getState(): ChatState;
  /** Calls `listener` after every change of state; returns the function that unsubscribes it. */
  subscribe(listener: () => void): () => void;
  /** Cancels the current chat, if any, and starts this one. */
  send(input: ChatInput): ChatStream;
  /**
   * Cancels the current chat, if any, and continues the conversation: `state.messages`, then
   * this user message, with the last chat's tools and options (or `defaults` before any).
   */
  followUp(content: string, defaults?: Omit<ChatInput, 'messages'>): ChatStream;
  /** Cancels the current chat, if any, and follows a stream viewed again (`client.resume`). */
  resume(ref: StreamRef): ChatStream;
  /** Approves the pending tool call (with edited `args`, if given); a refusal lands in `state.error`, the promise never rejects. */
  approve(options?: ApproveOptions): Promise<void>;
  /** Denies the pending tool call, with a reason (and code) the model is told; like `approve`, never rejects. */
  deny(reason?: string | DenyOptions): Promise<void>;
  /** Cancels the current chat; the store stays usable. */
  cancel(): void;
  /** `ChatStream.dropConnection()` of the current chat: cut the connection, watch it resume. */
  dropConnection(): void;
  /** `ChatStream.recentFrames()` of the current chat (empty before the first). */
  recentFrames(): readonly WireFrame[];
}

/** The state before the first chat: `idle`, empty text, no tool calls, every other field null. Frozen: every store shares it. */
export const IDLE_STATE: ChatState = Object.freeze({
  text: '',
  reasoning: '',
  status: 'idle',
  pendingApproval: null,
  error: null,
  toolCalls: [],
  toolResults: [],
  stats: null,
  streamId: null,
  transport: null,
  fallback: null,
  result: null,
  ref: null,
  messages: [],
});

/**
 * The framework-free core of `useChatStream`: it follows only the latest stream, so events of a
 * replaced or cancelled stream never reach the UI, and it notifies once per token batch.
 */
export function createChatStore(client: ChatClient): ChatStore {
  let state: ChatState = IDLE_STATE;
  let current: ChatStream | undefined;
  let detach: (() => void) | undefined;
  let result: ChatResult | null = null;
  /** The input of the current chat: its messages begin the conversation, its tools and options carry on. */
  let sent: ChatInput | undefined;
  const listeners = new Set<() => void>();

  const publish = (next: ChatState) => {
    state = next;
    for (const listener of [...listeners]) listener();
  };

  const snapshot = (stream: ChatStream, error: TokenwireError | null = stream.error ?? null): ChatState => ({
    text: stream.text,
    reasoning: stream.reasoning,
    status: stream.status,
    pendingApproval: stream.pendingApproval ?? null,
    error,
    toolCalls: [...stream.toolCalls],
    toolResults: [...stream.toolResults],
    stats: stream.stats(),
    streamId: stream.streamId ?? null,
    transport: stream.transport,
    fallback: stream.fallback ?? null,
    result,
    ref: stream.ref ?? null,
    messages: [...(sent?.messages ?? []), ...stream.messages],
  });

  const decide = async (decision: 'approve' | 'deny', options?: ApproveOptions | string | DenyOptions) => {
    const stream = current;
    const call = stream?.pendingApproval;
    if (!stream || !call || call.status !== 'pending') return;
    try {
      await (decision === 'approve' ? call.approve(options as ApproveOptions | undefined) : call.deny(options as string | DenyOptions | undefined));
    } catch (error) {
      if (stream === current) publish(snapshot(stream, toTokenwireError(error)));
    }
  };

  /** Makes `stream` the current chat: the previous one is cancelled and heard no more. */
  function follow(stream: ChatStream, input: ChatInput | undefined): ChatStream {
    current?.cancel();
    sent = input;
    detach?.();
    result = null;
    current = stream;
    const offChange = stream.on('change', () => stream === current && publish(snapshot(stream)));
    const offDone = stream.on('done', (outcome) => {
      result = outcome;
    });
    detach = () => (offChange(), offDone());
    publish(snapshot(stream));
    return stream;
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    send: (input) => follow(client.chat(input), input),
    followUp(content, defaults = {}) {
      // From the stream itself: the snapshot may lag a token batch behind.
      const conversation = [...(sent?.messages ?? []), ...(current?.messages ?? [])];
      const input: ChatInput = { ...(sent ?? defaults), messages: [...conversation, { role: 'user', content }] };
      return follow(client.chat(input), input);
    },
    resume: (ref) => follow(client.resume(ref), undefined),
    approve: (options) => decide('approve', options),
    deny: (reason) => decide('deny', reason),
    cancel() {
      current?.cancel();
    },
    dropConnection() {
      current?.dropConnection();
    },
    recentFrames: () => current?.recentFrames() ?? [],
  };
}
