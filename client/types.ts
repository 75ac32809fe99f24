// Over 300 lines on purpose: the client's public types in one place, each with its TSDoc, as the API report lists them.
import type { TokenwireError } from '../shared/errors.js';
import type { HiddenCharacters } from '../shared/hidden-characters.js';
import type { ChatMessage, ChatOptions, DoneReason, Usage } from '../shared/protocol.js';
import type { WireFrame } from './frame-log.js';
import type { Wakeups } from './reconnect.js';

/** A transport on the wire. */
export type TransportName = 'sse' | 'ws';
/** What a caller may ask for: `auto` picks per chat (see `ChatClientOptions.transport`). */
export type TransportChoice = 'auto' | TransportName;

/**
 * A WebSocket as far as the client uses it: the browser's, Node's global one, or `ws`'s. One
 * overload per event, so each of those classes fits without a cast under strict settings.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (WHATWG WebSockets, `readyState`). */
  readonly readyState: number;
  /** Sends one text message: a JSON client frame. */
  send(data: string): void;
  /**
   * Starts the closing handshake with a close code (RFC 6455 §7.4: 1000 when the client is
   * closed, 4000 for `dropConnection()`) and a reason of at most 123 UTF-8 bytes.
   */
  close(code?: number, reason?: string): void;
  /** `open`: the handshake is done and frames may be sent; `error`: it failed (a `close` follows). */
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  /** The connection closed; `code` is the RFC 6455 §7.4 close code, when the runtime gives one. */
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
  /**
   * Extra headers for every HTTP request (e.g. `Authorization`), and for the WebSocket upgrade
   * where the constructor takes options (Node's `ws`; browsers cannot, see `wsAuthToken`).
   */
  headers?: HeadersProvider;
  /** Token batching interval for the UI, ms (default 50; 0: every token on its own). */
  batchMs?: number;
  /** WebSocket constructor; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketCtor;
  /** fetch; defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Tools this client runs, by the name the server registered them with (`defineClientTool`):
   * when a stream's `tool_run` frame arrives (after the approval, if one is needed) the handler
   * runs once and its result (or error) goes back over the stream's transport (WebSocket frame
   * or `POST /api/tool-outputs/:callId`). A call whose tool has no handler here waits for
   * another client, or its deadline (`tool_timeout`).
   */
  clientTools?: Readonly<Record<string, ClientToolHandler>>;
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
  /**
   * How long after a drop the client keeps trying to re-attach a stream (ms; default
   * `resumeGraceMs`, the time the server keeps generating for it). The first retry goes at
   * once, later ones back off from 250 ms to 5 s with jitter; the network coming back
   * (`online`), the page shown again (`visibilitychange`, `pageshow`) retry at once.
   */
  reconnectWindowMs?: number;
  /** An optional cap on re-attach attempts, counted from the stream's last progress (default: none, the window decides). */
  maxReconnects?: number;
  /**
   * A connection silent this long (ms) is taken for dead and the stream resumed on a new one
   * (default 45000: three of the server's 15 s heartbeats; 0: never). Over the WebSocket the
   * client sends a `ping` after a third of it, which the server answers.
   */
  heartbeatTimeoutMs?: number;
  /** What tells the client to retry at once; default the page's `online`, `visibilitychange` and `pageshow` events (none outside a browser). */
  wakeups?: Wakeups;
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
  /** The conversation so far, oldest first; at least one message (`LIMITS.messages` at most). */
  messages: ChatMessage[];
  /** Tool names the model may call, e.g. `['get_weather']`. */
  tools?: string[];
  /** Model, sampling and resume options for this chat; `resumeGraceMs` here wins over the client's. */
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
  /** The whole answer text received (every token, including a last batch not yet rendered). */
  text: string;
  /** The model's reasoning ("thinking"), when the server streamed any (`reasoning` frames). */
  reasoning?: string;
  /** Why it ended: the `done` frame's reason, `cancelled` after `cancel()`, `error` after a local failure. */
  reason: DoneReason;
  /** Token counts from the `done` frame, when the model reported them. */
  usage?: Usage;
  /** Present exactly when `reason` is `error`: the server's error frame, or a local failure. */
  error?: TokenwireError;
  /** The stream's id; absent when it ended before the server's `start` frame named it. */
  streamId?: string;
  /** The transport that carried the end of it (after a fallback: `sse`). */
  transport: TransportName;
  /**
   * What this answer adds to the conversation (see `ChatStream.messages`): append it to the
   * messages sent, then the next user message, and the next chat sees the tool turns too.
   */
  messages: ChatMessage[];
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
  /** The call's id in the stream, as `approve`/`deny` and the matching `ToolResult` name it. */
  readonly callId: string;
  /** The tool's name, as registered on the server with `defineTool`. */
  readonly name: string;
  /** The arguments the model gave, already validated against the tool's schema on the server. */
  readonly args: Record<string, unknown>;
  /** `required`: the call runs only once a person approves it; `not_required`: it ran (or runs) at once. */
  readonly approval: 'required' | 'not_required';
  /** Epoch milliseconds after which the server refuses a decision (`approval_expired`); undefined when none is needed. */
  readonly expiresAt: number | undefined;
  /**
   * Where `args` hold characters a person cannot see (zero-width, bidi controls): show them
   * before asking for a decision (`showHiddenCharacters` writes them out). Empty when none, or
   * from a server before protocol minor 4.
   */
  readonly hiddenCharacters: readonly HiddenCharacters[];
  /** Where the decision stands; it changes as decisions are sent and the `tool_result` arrives. */
  readonly status: ToolCallStatus;
  /** `client`: this client's `clientTools` runs it (protocol minor 8); `server`: the server does. */
  readonly runsOn: 'server' | 'client';
  /**
   * The app's data for the approval card (the tool's `approval.display` on the server): any
   * JSON; undefined when the tool gives none, or from a server before protocol minor 7.
   */
  readonly display: unknown;
  /**
   * Sends the approval (WebSocket frame or HTTP POST); rejects with a TokenwireError if refused:
   * `already_decided` unless `pending`, `approval_expired`, `forbidden`, `invalid_arguments`
   * (edited `args` the tool's schema refuses: the call stays pending), or `unknown_call` once the
   * stream ended. With `args`, the tool runs with those instead (its `ToolResult` says `edited`).
   * Over the WebSocket a refusal comes as the stream's `error` event instead (a socket answers no
   * frame on its own); a refused edit puts the call back to `pending` there too.
   */
  approve(options?: ApproveOptions): Promise<void>;
  /**
   * Sends a denial, with an optional reason (at most `LIMITS.reasonChars` characters) and code
   * (`DENY_CODE`: a lowercase identifier) the model is told; rejects like `approve`. The tool does not run.
   */
  deny(reason?: string | DenyOptions): Promise<void>;
}

/** An approval's options: edited arguments to run instead, and a reason for the audit. */
export interface ApproveOptions {
  /** The arguments to run with instead of the model's; validated by the tool's schema on the server. */
  args?: Record<string, unknown>;
  /** At most `LIMITS.reasonChars` characters. */
  reason?: string;
}

/** A denial's options: why, for the model and the audit. */
export interface DenyOptions {
  /** At most `LIMITS.reasonChars` characters. */
  reason?: string;
  /** A lowercase identifier (`DENY_CODE`: `^[a-z][a-z0-9_]{0,63}$`), e.g. `over_limit`. */
  code?: string;
}

/** A decision as a transport sends it. */
export type DecisionOptions = ApproveOptions & DenyOptions;

/** What a client tool's handler is given besides the arguments. */
export interface ClientToolContext {
  /** The call's id, as its `ToolCall` and `ToolResult` name it. */
  readonly callId: string;
  /** The tool's name. */
  readonly name: string;
  /** Aborts when the stream ends, is cancelled, or the server closed the call (its deadline passed). */
  readonly signal: AbortSignal;
}

/**
 * Runs one client tool's call in this client (registered on the server with `defineClientTool`):
 * return a JSON-serialisable result for the model (at most `LIMITS.toolOutputBytes` as JSON;
 * `undefined` is sent as `null`), or throw. A thrown error is sent as the call's error: its
 * `code` when it is a string of letters, digits, `_` or `-`, else `tool_failed`, and its message
 * (the model and the user see both; put no secrets there).
 */
export type ClientToolHandler = (args: Record<string, unknown>, context: ClientToolContext) => unknown;

/** The outcome of a tool call, as the server shows it. */
export interface ToolResult {
  /** The call this answers: a `ToolCall.callId`, or a call refused before it was shown (`unknown_tool`, `invalid_arguments`). */
  callId: string;
  /** True when the tool ran and returned; false when it failed, was denied or expired (see `error`). */
  ok: boolean;
  /** What the tool returned, as JSON, when `ok`. */
  result?: unknown;
  /**
   * Why not, when not `ok`: `denied`, `approval_expired`, `tool_timeout`, `tool_failed`,
   * `invalid_arguments`, `unknown_tool`, or the code of a `ToolError` the tool threw; the message is safe to show.
   */
  error?: { code: string; message: string };
  /** True when a person edited the arguments; `args` are the ones that ran (protocol minor 7). */
  edited?: true;
  /** The arguments the tool ran with, when a person edited them. */
  args?: Record<string, unknown>;
  /** With `error.code` `denied`, when the person gave a code: it and their reason. */
  denial?: { code?: string; reason?: string };
}

/** Said when `auto` wanted a WebSocket and had to use SSE instead. */
export interface Fallback {
  /** The transport given up: always the WebSocket. */
  from: 'ws';
  /** The transport used instead: SSE, with decisions sent over HTTP. */
  to: 'sse';
  /** Why the WebSocket could not be used, e.g. `no connection within 3000 ms`; for logs, not for users. */
  reason: string;
}

/** Counters and timings a stream keeps about itself, for dashboards and the demo. */
export interface StreamStats {
  /** The transport carrying the stream now. */
  transport: TransportName;
  /** ms from `chat()` to the first token frame, less the time a tool call waited for a person. */
  firstTokenMs: number | undefined;
  /** ms from `chat()` to the first tool call frame. */
  toolCallMs: number | undefined;
  /** ms tool calls waited for a person's decision (so far, while one waits). */
  approvalWaitMs: number;
  /** ms from the last decision sent to its `tool_result`: the approval round trip. */
  approvalRoundTripMs: number | undefined;
  /** Token frames received (the answer's; reasoning frames are not counted). */
  tokens: number;
  /** Server frames received (all types). */
  frames: number;
  /** Bytes received for this stream: SSE body bytes, or WebSocket message payload bytes. */
  bytes: number;
  /** UTF-8 bytes of the token and reasoning text in those frames; `bytes - payloadBytes` is the framing. */
  payloadBytes: number;
  /** Times the client re-attached the stream after its connection dropped. */
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
  /** The stream's id, from its `start` frame. */
  streamId: string;
  /** The stream token from its `start` frame: what lets an anonymous caller view, cancel and decide it; undefined if this client never received it. */
  token: string | undefined;
  /** The last seq received; `client.resume` replays what came after it (-1: the whole stream). */
  lastSeq: number;
  /** The transport to resume over (a WebSocket that cannot connect falls back to SSE). */
  transport: TransportName;
}

/** Everything a chat stream tells its listeners. */
export interface ChatStreamEvents {
  /** The server's `start` frame arrived: the stream's id, the model that answers, the transport. */
  start: { streamId: string; model: string; transport: TransportName };
  /** Answer text, batched for rendering (at most one batch per `batchMs`). */
  token: TokenBatch;
  /** Reasoning ("thinking") text, batched like tokens; only from reasoning models (protocol 1.1). */
  reasoning: TokenBatch;
  /** The model called a tool; decide it with `approve`/`deny` when its `approval` is `required`. */
  tool_call: ToolCall;
  /** A tool call's outcome: it ran, failed, was denied, or expired. */
  tool_result: ToolResult;
  /** An error frame (the stream may still go on: the final say is `done`), or a local failure. */
  error: TokenwireError;
  /** The stream ended, once; the same value `result` resolves with. */
  done: ChatResult;
  /** `auto` could not open the WebSocket and carries the stream over SSE instead. */
  fallback: Fallback;
  /**
   * The server took a re-attach after a drop (SSE: the resume's response; WebSocket: a new socket
   * sent `resume`): `attempt` counts re-attaches from 1, the replay starts after `lastSeq`.
   * Tries that never reached the server (a network still down) are not counted.
   */
  reconnect: { attempt: number; lastSeq: number };
  /** The connection dropped (`dropConnection()`, or the network); a reconnect follows. */
  disconnect: { lastSeq: number };
  /** Anything changed (status, tool call status, stats): for UIs that redraw from a snapshot. */
  change: ChatStream;
}

/** One generation as the caller sees it, whichever transport carries it. */
export interface ChatStream {
  /** The stream's id, once the server's `start` frame named it. */
  readonly streamId: string | undefined;
  /** The transport carrying it now (`sse` after a fallback). */
  readonly transport: TransportName;
  /** Why it fell back from the WebSocket to SSE, if it did. */
  readonly fallback: Fallback | undefined;
  /** Where the stream is in its lifecycle; `done`, `cancelled` and `error` are final. */
  readonly status: ChatStreamStatus;
  /** The text handed out so far (flushed batches). */
  readonly text: string;
  /** The reasoning handed out so far (flushed batches); empty for models that stream none. */
  readonly reasoning: string;
  /** Every tool call of the stream so far, in order, with its current status. */
  readonly toolCalls: readonly ToolCall[];
  /** Every tool result so far, in order. */
  readonly toolResults: readonly ToolResult[];
  /**
   * The messages this answer adds to the conversation so far, oldest first (a new array on
   * every read): per model step an `assistant` message with its text, reasoning and tool calls
   * (`arguments` as JSON text), then a `tool` message per call that got its result
   * (`{"ok":true,"result":…}` or `{"ok":false,"error":…}`, as the server told the model).
   * A call without a result, or a result without a shown call, is left out; a text over its
   * `LIMITS` is cut to fit. Send `[...sent, ...messages, nextUserMessage]` as the next chat's
   * messages (needs a server of protocol minor 9 when tools were called). A stream resumed from
   * a `lastSeq` other than -1 holds only what came after it.
   */
  readonly messages: ChatMessage[];
  /** The first tool call still waiting for a decision. */
  readonly pendingApproval: ToolCall | undefined;
  /** The last error frame or local failure. */
  readonly error: TokenwireError | undefined;
  /** A snapshot of the stream's counters and timings, computed now. */
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
  /**
   * Listens to one event; returns the function that stops listening. A listener that throws
   * breaks neither the stream nor the other listeners (its error is rethrown on a later task).
   */
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
  /**
   * Starts a chat and returns its stream at once; the request goes out on a later task, so
   * listeners attached right away miss nothing. Never throws: failures end the stream with
   * `reason: 'error'` (an invalid input is `invalid_request`).
   */
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
