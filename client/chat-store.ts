import type { TokenwireError } from '../shared/errors.js';
import type { WireFrame } from './frame-log.js';
import { toTokenwireError } from '../shared/errors.js';
import type {
  ChatClient,
  ChatInput,
  ChatResult,
  ChatStream,
  ChatStreamStatus,
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
  text: string;
  /** The model's reasoning ("thinking") so far; empty when it streams none. */
  reasoning: string;
  status: ChatStatus;
  pendingApproval: ToolCall | null;
  error: TokenwireError | null;
  toolCalls: readonly ToolCall[];
  toolResults: readonly ToolResult[];
  stats: StreamStats | null;
  streamId: string | null;
  transport: TransportName | null;
  fallback: Fallback | null;
  result: ChatResult | null;
  /** Where to pick the stream up again (`resume`), e.g. after a reload; null before the server named it. */
  ref: StreamRef | null;
}

/** One chat at a time as an external store (`subscribe` + `getState`), with its actions. */
export interface ChatStore {
  getState(): ChatState;
  subscribe(listener: () => void): () => void;
  /** Cancels the current chat, if any, and starts this one. */
  send(input: ChatInput): ChatStream;
  /** Cancels the current chat, if any, and follows a stream viewed again (`client.resume`). */
  resume(ref: StreamRef): ChatStream;
  /** Approves the pending tool call; a refusal lands in `state.error`, the promise never rejects. */
  approve(): Promise<void>;
  deny(reason?: string): Promise<void>;
  /** Cancels the current chat; the store stays usable. */
  cancel(): void;
  /** `ChatStream.dropConnection()` of the current chat: cut the connection, watch it resume. */
  dropConnection(): void;
  /** `ChatStream.recentFrames()` of the current chat (empty before the first). */
  recentFrames(): readonly WireFrame[];
}

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
  });

  const decide = async (decision: 'approve' | 'deny', reason?: string) => {
    const stream = current;
    const call = stream?.pendingApproval;
    if (!stream || !call || call.status !== 'pending') return;
    try {
      await (decision === 'approve' ? call.approve() : call.deny(reason));
    } catch (error) {
      if (stream === current) publish(snapshot(stream, toTokenwireError(error)));
    }
  };

  /** Makes `stream` the current chat: the previous one is cancelled and heard no more. */
  function follow(stream: ChatStream): ChatStream {
    current?.cancel();
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
    send: (input) => follow(client.chat(input)),
    resume: (ref) => follow(client.resume(ref)),
    approve: () => decide('approve'),
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
