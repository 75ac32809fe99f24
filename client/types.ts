import type { TokenwireError } from '../shared/errors.js';
import type { HiddenCharacters } from '../shared/hidden-characters.js';
import type { ChatMessage, ChatOptions, DoneReason, Usage } from '../shared/protocol.js';
import type { WireFrame } from './frame-log.js';

/** A transport on the wire. */
export type TransportName = 'sse' | 'ws';
/** What a caller may ask for: `auto` picks per chat (see `ChatClientOptions.transport`). */
export type TransportChoice = 'auto' | TransportName;

/**
 * A WebSocket as far as the client uses it: the browser's, Node's global one, or `ws`'s. One
 * overload per event, so each of those classes fits without a cast under strict settings.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code?: number }) => void): void;
  /** `data` is a string in browsers; `ws` may give bytes. */
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket`, or `WebSocket` from the `ws` package. */
export type WebSocketCtor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => WebSocketLike;

/** Extra request headers, asked for again before every request (so tokens can be refreshed). */
export type HeadersProvider = () => Record<string, string> | Promise<Record<string, string>>;

/** Options of `createChatClient`. */
export interface ChatClientOptions {
  /**
   * Where tokenwire is mounted: its origin, e.g. `http://127.0.0.1:3000`, or the origin and the
   * prefix it serves under, e.g. `https://example.com/tw` (a trailing `/` or not), so chats go to
   * `/tw/api/chat` and the socket to `/tw/ws`. No query or fragment (a `TypeError`). Defaults to
   * the page's origin.
   */
  baseUrl?: string;
  /**
   * `sse`, `ws`, or `auto` (default): WebSocket when the browser must talk back during the
   * stream (the chat offers tools, or says `interactive: true`), SSE otherwise; when the
   * WebSocket cannot connect, SSE with approvals over HTTP, announced as a `fallback` event.
   */
  transport?: TransportChoice;
  headers?: HeadersProvider;
  /** Token batching interval for the UI, ms (default 50; 0: every token on its own). */
  batchMs?: number;
  /** WebSocket constructor; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketCtor;
  /** fetch; defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Path of the WebSocket endpoint under `baseUrl`'s path (default `/ws`): with
   * `baseUrl: 'https://example.com/tw'`, `/ws` and `ws` are both `wss://example.com/tw/ws`.
   * A path only: a scheme, query or fragment is a `TypeError`.
   */
  wsPath?: string;
  /**
   * A bearer token for the WebSocket upgrade, asked for before every connect and sent as
   * `?access_token=` (RFC 6750 §2.3): browsers cannot set headers on a WebSocket, and under
   * `AUTH=jwt` the server reads the token there. `headers` still authenticates the HTTP requests.
   */
  wsAuthToken?: () => string | Promise<string>;
  /** How long a WebSocket may take to open before `auto` falls back to SSE (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Attempts to re-attach a stream after its connection dropped, counted from its last progress (default 3). */
  maxReconnects?: number;
  /**
   * How long the server keeps generating after this client's connection dropped, so it can
   * resume (ms; default 30000, capped by the server's MAX_RESUME_GRACE_MS; 0 asks for none:
   * a dropped connection then aborts the generation). A chat's `options.resumeGraceMs` wins.
   * `cancel()` always stops the generation at once.
   */
  resumeGraceMs?: number;
}

/** One chat request, plus how to carry it. */
export interface ChatInput {
  messages: ChatMessage[];
  /** Tool names the model may call, e.g. `['get_weather']`. */
  tools?: string[];
  options?: ChatOptions;
  /** Under `auto`, asks for the WebSocket even without tools. */
  interactive?: boolean;
  /** Overrides the client's transport for this chat. */
  transport?: TransportChoice;
  /** Overrides the client's `batchMs` for this chat. */
  batchMs?: number;
}

/** How a chat ended. `result` always resolves with one of these and never rejects. */
export interface ChatResult {
  text: string;
  /** The model's reasoning ("thinking"), when the server streamed any (`reasoning` frames). */
  reasoning?: string;
  reason: DoneReason;
  usage?: Usage;
  /** Present exactly when `reason` is `error`: the server's error frame, or a local failure. */
  error?: TokenwireError;
  streamId?: string;
  transport: TransportName;
}

/** Tokens handed to the UI together. */
export interface TokenBatch {
  /** The new text, the batch's tokens joined. */
  text: string;
  /** How many token frames the batch holds. */
  tokens: number;
}

/**
 * `expired`: nobody decided in time (the server's `tool_result` said `approval_expired`). A call
 * the server answered while this client was away (expired, decided elsewhere) is no longer
 * `pending` once its `tool_result` arrives, so it is never offered again.
 */
export type ToolCallStatus = 'pending' | 'approving' | 'approved' | 'denying' | 'denied' | 'expired' | 'not_required';

/** A tool call the model made; `approve`/`deny` decide it when `approval` is `required`. */
export interface ToolCall {
  readonly callId: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly approval: 'required' | 'not_required';
  readonly expiresAt: number | undefined;
  /**
   * Where `args` hold characters a person cannot see (zero-width, bidi controls): show them
   * before asking for a decision (`showHiddenCharacters` writes them out). Empty when none, or
   * from a server before protocol minor 4.
   */
  readonly hiddenCharacters: readonly HiddenCharacters[];
  readonly status: ToolCallStatus;
  /** Sends the approval (WebSocket frame or HTTP POST); rejects with a TokenwireError if refused. */
  approve(): Promise<void>;
  deny(reason?: string): Promise<void>;
}

/** The outcome of a tool call, as the server shows it. */
export interface ToolResult {
  callId: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** Said when `auto` wanted a WebSocket and had to use SSE instead. */
export interface Fallback {
  from: 'ws';
  to: 'sse';
  reason: string;
}

/** Counters and timings a stream keeps about itself, for dashboards and the demo. */
export interface StreamStats {
  transport: TransportName;
  /** ms from `chat()` to the first token frame, less the time a tool call waited for a person. */
  firstTokenMs: number | undefined;
  /** ms from `chat()` to the first tool call frame. */
  toolCallMs: number | undefined;
  /** ms tool calls waited for a person's decision (so far, while one waits). */
  approvalWaitMs: number;
  /** ms from the last decision sent to its `tool_result`: the approval round trip. */
  approvalRoundTripMs: number | undefined;
  tokens: number;
  /** Server frames received (all types). */
  frames: number;
  /** Bytes received for this stream: SSE body bytes, or WebSocket message payload bytes. */
  bytes: number;
  /** UTF-8 bytes of the token and reasoning text in those frames; `bytes - payloadBytes` is the framing. */
  payloadBytes: number;
  reconnects: number;
  /** ms from the last dropped connection to the first frame after it. */
  resumeMs: number | undefined;
  /** Tokens per second between the first and the latest token. */
  tokensPerSecond: number | undefined;
  /** ms between consecutive token frames, the most recent 120. */
  tokenGapsMs: readonly number[];
  /** ms from `chat()` to now, or to the end. */
  elapsedMs: number;
}

/** `reconnecting`: the connection dropped and the client is re-attaching (the server keeps generating). */
export type ChatStreamStatus = 'connecting' | 'streaming' | 'awaiting_approval' | 'reconnecting' | 'done' | 'cancelled' | 'error';

/**
 * Where a stream can be picked up again: after a page reload, say (kept in `sessionStorage`).
 * `token` is the stream token from its `start` frame; treat it like a session secret.
 */
export interface StreamRef {
  streamId: string;
  token: string | undefined;
  /** The last seq received; `client.resume` replays what came after it (-1: the whole stream). */
  lastSeq: number;
  transport: TransportName;
}

/** Everything a chat stream tells its listeners. */
export interface ChatStreamEvents {
  start: { streamId: string; model: string; transport: TransportName };
  token: TokenBatch;
  /** Reasoning ("thinking") text, batched like tokens; only from reasoning models (protocol 1.1). */
  reasoning: TokenBatch;
  tool_call: ToolCall;
  tool_result: ToolResult;
  /** An error frame (the stream may still go on: the final say is `done`), or a local failure. */
  error: TokenwireError;
  done: ChatResult;
  fallback: Fallback;
  reconnect: { attempt: number; lastSeq: number };
  /** The connection dropped (`dropConnection()`, or the network); a reconnect follows. */
  disconnect: { lastSeq: number };
  /** Anything changed (status, tool call status, stats): for UIs that redraw from a snapshot. */
  change: ChatStream;
}

/** One generation as the caller sees it, whichever transport carries it. */
export interface ChatStream {
  readonly streamId: string | undefined;
  readonly transport: TransportName;
  readonly fallback: Fallback | undefined;
  readonly status: ChatStreamStatus;
  /** The text handed out so far (flushed batches). */
  readonly text: string;
  /** The reasoning handed out so far (flushed batches); empty for models that stream none. */
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCall[];
  readonly toolResults: readonly ToolResult[];
  /** The first tool call still waiting for a decision. */
  readonly pendingApproval: ToolCall | undefined;
  /** The last error frame or local failure. */
  readonly error: TokenwireError | undefined;
  stats(): StreamStats;
  /** The last frames received (50), raw as on the wire, oldest first. */
  recentFrames(): readonly WireFrame[];
  /** Where to pick this stream up again with `client.resume`, once the server named it. */
  readonly ref: StreamRef | undefined;
  /**
   * Cuts the connection carrying this stream, as a network failure would, for demos and tests:
   * the client resumes from its last seq and loses nothing. Over WebSocket it closes the
   * client's one shared socket, so every WebSocket stream of the client resumes.
   */
  dropConnection(): void;
  /** Settles once, when the stream ends; never rejects (errors are `reason: 'error'`). */
  readonly result: Promise<ChatResult>;
  on<E extends keyof ChatStreamEvents>(event: E, listener: (value: ChatStreamEvents[E]) => void): () => void;
  /** Shorthand for `on('token', listener)`. */
  onToken(listener: (batch: TokenBatch) => void): () => void;
  /** Shorthand for `on('reasoning', listener)`: the model's thinking, before or between its answer. */
  onReasoning(listener: (batch: TokenBatch) => void): () => void;
  /** Stops the stream: the server aborts the model request; `result` resolves with `cancelled`. */
  cancel(): void;
}

/** A client bound to one server. */
export interface ChatClient {
  chat(input: ChatInput): ChatStream;
  /**
   * Views a stream again from `ref.lastSeq` (e.g. after a page reload): frames after it are
   * replayed, then the live ones. `lastSeq: -1` replays the whole stream, rebuilding its text.
   */
  resume(ref: StreamRef, options?: { batchMs?: number }): ChatStream;
  /** Which transport `chat(input)` would try first. */
  pickTransport(input: Pick<ChatInput, 'tools' | 'interactive' | 'transport'>): TransportName;
  /** Cancels every open stream and closes the shared WebSocket. */
  close(): void;
}
