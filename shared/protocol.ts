// Over 300 lines on purpose: the whole wire, one zod schema per frame and direction, read together.
import { z } from 'zod';
import { ERROR_CODE_LIST } from './errors.js';
import { withinDepth } from './json.js';

/**
 * Wire protocol version; sent in every `start` frame. Bump on a breaking change.
 * 2: the stream's capability is `streamToken`, sent as `X-Stream-Token` or `?token=`,
 * no longer `Authorization: Bearer`; version 2 still sends `approvalToken` and reads the old
 * header when authentication is off; version 3 drops both.
 */
export const PROTOCOL_VERSION = 2;
/**
 * Additions within `PROTOCOL_VERSION`: bumped when a frame type or an optional field is added,
 * which clients ignore until they know it. 1: the `reasoning` frame and `usage.reasoningTokens`.
 * 2: `format` (with `threadId`, `runId`) on the WebSocket `start` and `resume` frames (AG-UI
 *    over the WebSocket), and `instanceId` in the `start` frame (several instances on Redis).
 * 3: an idempotent start: `idempotencyKey` on the WebSocket `start` frame, the
 *    `Idempotency-Key` header on `POST /api/chat`; a repeat gets the same stream from its start.
 * 4: `hiddenCharacters` on the `tool_call` frame: where the arguments hold zero-width or bidi
 *    control characters a person deciding on them cannot see.
 * 5: the WebSocket `ping` client message, answered `{"type":"pong"}`: a client's watch for a dead path.
 * 6: the error code `model_not_allowed`: `options.model` outside the server's allow-list.
 * 7: `display` on the `tool_call` frame (the app's data for the approval card); `args` on an
 *    approve (edited arguments) with `args`/`edited` on its `tool_result`; `code` on a deny with
 *    `denial` on its `tool_result`; `reason` on an approve.
 * 8: client tools: `runsOn: 'client'` on the `tool_call` frame, the `tool_run` frame (the client
 *    runs the call now), the client's `tool_output` WebSocket frame, `POST /api/tool-outputs/:callId`,
 *    and the error code `tool_timeout` (an output after the `tool_run`'s `expiresAt`).
 * 9: conversations with tool turns: an `assistant` message may carry `toolCalls`, `reasoning`
 *    and `providerData`, and a `tool` message (`toolCallId`, `content`) answers one of its calls.
 */
export const PROTOCOL_MINOR = 9;

/** Limits on what a client may send, shared so clients can check before sending. */
export const LIMITS = {
  messages: 200,
  messageChars: 32_000,
  tools: 16,
  idChars: 64,
  reasonChars: 500,
  /** A deny's `code`: a lowercase identifier (`DENY_CODE`), at most this long. */
  denyCodeChars: 64,
  /** The server's bound on a `tool_call`'s `display`, as JSON text (characters). */
  displayChars: 16_384,
  /** Tool calls on one assistant message. */
  toolCallsPerMessage: 16,
  /** A tool call's arguments, JSON text. */
  toolArgumentsChars: 32_000,
  /** An assistant message's reasoning: thinking runs longer than the answers it leads to. */
  reasoningChars: 128_000,
  /** An assistant message's `providerData`, as JSON text. */
  providerDataChars: 16_000,
  /** An idempotency key: long enough to be unguessable (a UUID is 36). */
  idempotencyKeyMinChars: 16,
  idempotencyKeyMaxChars: 128,
  /** A client tool's output (`tool_output`), as UTF-8 JSON bytes: what the model is told must stay small. */
  toolOutputBytes: 65_536,
  /** A client tool's own error code (`tool_output`'s `error.code`). */
  toolErrorCodeChars: 64,
  /** How deep a client's free-form JSON (a tool output, edited arguments, `providerData`) may nest. */
  jsonDepth: 64,
} as const;

const Id = z.string().min(1).max(LIMITS.idChars);
/** A deny's machine-readable code, e.g. `over_limit`: what the app and the model switch on. */
export const DENY_CODE = /^[a-z][a-z0-9_]{0,63}$/;
const DenyCode = z.string().regex(DENY_CODE, 'a lowercase identifier: a-z, then a-z, 0-9 or _, at most 64');
const Reason = z.string().max(LIMITS.reasonChars);
/** Arguments a person edited: an object, validated by the tool's schema again on the server. */
const EditedArgs = z.record(z.string(), z.unknown()).refine((args) => withinDepth(args, LIMITS.jsonDepth), `nested at most ${LIMITS.jsonDepth} levels deep`);
/** Any JSON a client sends as its own (a tool output), bounded in depth. */
const ClientJson = z.unknown().refine((value) => withinDepth(value, LIMITS.jsonDepth), `nested at most ${LIMITS.jsonDepth} levels deep`);
const Seq = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------
// Requests: what a client asks for (the SSE POST body and the WebSocket `start` frame).

/** A system or user message: who said it and its text, at most `LIMITS.messageChars` characters. */
export const TextMessage = z.strictObject({
  role: z.enum(['system', 'user']),
  content: z.string().max(LIMITS.messageChars),
});

/** A tool call an assistant message made (protocol minor 9): the call's id, the tool's name, the arguments as JSON text. */
export const MessageToolCall = z.strictObject({
  /** Names the call; the `tool` message that answers it names it in `toolCallId`. */
  id: Id,
  name: z.string().min(1).max(64),
  /** The arguments as the model wrote them: JSON text, at most `LIMITS.toolArgumentsChars` characters. */
  arguments: z.string().max(LIMITS.toolArgumentsChars),
});
/** A tool call on an assistant message, as the `MessageToolCall` schema parses it. */
export type MessageToolCall = z.infer<typeof MessageToolCall>;

/** JSON text length of a value, or Infinity when it is not JSON (a cycle, a BigInt). */
const jsonChars = (value: unknown): number => {
  try {
    return JSON.stringify(value)?.length ?? Infinity;
  } catch {
    return Infinity;
  }
};

/**
 * An assistant message: its text, and from protocol minor 9 the tool calls it made (each
 * answered by a later `tool` message), the reasoning it streamed, and `providerData`: state
 * the model's provider needs back (opaque; pass it through unchanged when a server gave it).
 */
export const AssistantMessage = z.strictObject({
  role: z.literal('assistant'),
  content: z.string().max(LIMITS.messageChars),
  toolCalls: z.array(MessageToolCall).min(1).max(LIMITS.toolCallsPerMessage).optional(),
  reasoning: z.string().max(LIMITS.reasoningChars).optional(),
  providerData: z
    .record(z.string().max(64), z.unknown())
    .refine((data) => withinDepth(data, LIMITS.jsonDepth) && jsonChars(data) <= LIMITS.providerDataChars, `at most ${LIMITS.providerDataChars} characters of JSON, nested at most ${LIMITS.jsonDepth} levels deep`)
    .optional(),
});

/**
 * A tool's answer to one call of an earlier assistant message (protocol minor 9): that call's
 * id and what the tool returned, as text (tokenwire writes `{"ok":true,"result":…}` or
 * `{"ok":false,"error":{"code","message"}}`, as its own tool rounds tell the model).
 */
export const ToolMessage = z.strictObject({
  role: z.literal('tool'),
  toolCallId: Id,
  content: z.string().max(LIMITS.messageChars),
});

/**
 * One message of the conversation a chat sends, told apart by `role`: `system` and `user`
 * (`{ role, content }`), `assistant` (its text, and its tool calls, reasoning and provider
 * data), `tool` (the answer to one call). Every text is bounded by `LIMITS`.
 */
export const ChatMessage = z.discriminatedUnion('role', [TextMessage, AssistantMessage, ToolMessage]);
/** A conversation message, as the `ChatMessage` schema parses it; switch on `role`. */
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * The conversation's tool turns hold together: each `tool` message answers a call of an
 * earlier assistant message, once; a call id names one call. Chat-completions upstreams
 * refuse a result without its call, so a request that has one is refused here instead.
 */
function checkToolTurns(messages: ChatMessage[], ctx: z.RefinementCtx): void {
  const calls = new Map<string, boolean>();
  messages.forEach((message, index) => {
    if (message.role === 'assistant') {
      message.toolCalls?.forEach((call, at) => {
        if (calls.has(call.id)) ctx.addIssue({ code: 'custom', message: `tool call id "${call.id}" is used twice`, path: [index, 'toolCalls', at, 'id'] });
        calls.set(call.id, false);
      });
    } else if (message.role === 'tool') {
      const answered = calls.get(message.toolCallId);
      if (answered === undefined) {
        ctx.addIssue({ code: 'custom', message: `a tool message must answer a tool call of an earlier assistant message; "${message.toolCallId}" is none`, path: [index, 'toolCallId'] });
      } else if (answered) {
        ctx.addIssue({ code: 'custom', message: `tool call "${message.toolCallId}" is answered twice`, path: [index, 'toolCallId'] });
      }
      calls.set(message.toolCallId, true);
    }
  });
}

/** Knobs only the simulated model reads: for demos, tests and load runs. */
export const SimulateOptions = z.strictObject({
  /** Produce exactly this many tokens, then finish with `stop`. */
  tokens: z.number().int().min(1).max(1_000_000).optional(),
  /** Fail with an upstream error after this many tokens (0: before the first). */
  failAfterTokens: z.number().int().min(0).optional(),
  /** Stream this many reasoning tokens (`reasoning` frames) before the answer. */
  reasoningTokens: z.number().int().min(0).max(100_000).optional(),
  /** This request's pace, tokens per second (default: the server's SIM_TOKENS_PER_SECOND); bounded so one request cannot flood. */
  tokensPerSecond: z.number().min(1).max(10_000).optional(),
});
/** A chat's `options.simulate`: read by the simulated model, ignored by real ones. */
export type SimulateOptions = z.infer<typeof SimulateOptions>;

/**
 * A chat's `options`, every one optional: the model and its sampling, how long the stream
 * outlives its viewers, and the simulated model's knobs. An unknown key is `invalid_request`.
 */
export const ChatOptions = z.strictObject({
  /** The upstream model to use, e.g. `gpt-4o-mini`; default the provider's `defaultModel`. */
  model: z.string().min(1).max(200).optional(),
  /** Sampling temperature, 0 to 2; default the upstream's. */
  temperature: z.number().min(0).max(2).optional(),
  /** The most completion tokens per model turn; a turn that reaches it ends the stream with `length`. */
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  /** How long the server keeps generating after the last viewer left, so it can resume (ms; cut to the server's maximum). */
  resumeGraceMs: z.number().int().min(0).max(600_000).optional(),
  /** Read only by the simulated model; a real one ignores it. */
  simulate: SimulateOptions.optional(),
});
/** A chat's `options`, as the `ChatOptions` schema parses them. */
export type ChatOptions = z.infer<typeof ChatOptions>;

/**
 * What a client asks for when it starts a chat: the JSON body of `POST /api/chat`, and the
 * fields the WebSocket `start` frame adds to its own. Invalid input is `invalid_request`.
 */
export const ChatRequest = z.strictObject({
  /** The conversation so far, oldest first: 1 to `LIMITS.messages` messages. */
  messages: z.array(ChatMessage).min(1).max(LIMITS.messages).superRefine(checkToolTurns),
  /** Names of tools registered on the server that the model may call; an unknown one is `unknown_tool`. */
  tools: z.array(z.string().min(1).max(64)).max(LIMITS.tools).optional(),
  options: ChatOptions.optional(),
});
/** A chat request, as the `ChatRequest` schema parses it. */
export type ChatRequest = z.infer<typeof ChatRequest>;

// ---------------------------------------------------------------------------------------------
// Server → client frames. Every frame names its stream and its place in it.

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ type: z.literal(type), streamId: Id, seq: Seq, ...shape });

/**
 * Token counts of a whole chat, every model turn added up, as the upstream reported them; in
 * the `done` frame when known.
 */
export const Usage = z.strictObject({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  /** Of `completionTokens`, those spent on reasoning, when the upstream reports them. */
  reasoningTokens: z.number().int().nonnegative().optional(),
});
/** Token counts, as the `Usage` schema parses them. */
export type Usage = z.infer<typeof Usage>;

/** `{ code, message }`: what an HTTP error answers inside `{ error }`; a failed `tool_result`'s `error` has this shape with any code. */
export const ErrorBody = z.strictObject({
  code: z.enum(ERROR_CODE_LIST),
  message: z.string(),
});

/**
 * Why a stream ended, in its `done` frame: `stop` (the answer is complete), `length`
 * (`maxTokens` or the context ran out), `cancelled` (a client cancelled, or left past its resume
 * window), `error` (after an `error` frame), `tool_rounds` (`maxToolRounds` model turns were
 * taken), `content_filter` (the upstream withheld the rest).
 */
export const DoneReason = z.enum(['stop', 'length', 'cancelled', 'error', 'tool_rounds', 'content_filter']);
/** Why a stream ended (see the `DoneReason` schema). */
export type DoneReason = z.infer<typeof DoneReason>;

/** The transport a stream was started on: `sse` (WHATWG HTML §9.2 Server-Sent Events) or `ws` (RFC 6455 WebSocket). */
export const Transport = z.enum(['sse', 'ws']);
/** `sse` or `ws` (see the `Transport` schema). */
export type Transport = z.infer<typeof Transport>;

/**
 * A stream's first frame (`seq` 0), sent once when it starts: the protocol version, the model,
 * the transport, and to the client that started it the stream's token. A resume that replays
 * from the beginning sends it again.
 */
export const StartServerFrame = frame('start', {
  protocol: z.literal(PROTOCOL_VERSION),
  /** `PROTOCOL_MINOR` of the server; absent from servers before minor 1. */
  protocolMinor: z.number().int().nonnegative().optional(),
  model: z.string(),
  transport: Transport,
  /** The client's `id` from its WebSocket `start` frame, echoed so it can match the stream. */
  id: Id.optional(),
  /**
   * The capability for an anonymous stream: shown as `X-Stream-Token` (or `?token=`) it lets a
   * request view, cancel and decide this stream. Sent only to the client that started it.
   */
  streamToken: z.string().optional(),
  /** @deprecated Protocol 1's name of `streamToken`, sent alongside it in version 2 only. */
  approvalToken: z.string().optional(),
  /** The instance (INSTANCE_ID) that runs the generation, so routing can be seen; protocol minor 2. */
  instanceId: z.string().optional(),
});

/** A piece of the answer's text, as the model streamed it; the answer is every token's `text` joined in `seq` order. */
export const TokenFrame = frame('token', { text: z.string() });

/** The model's reasoning ("thinking") text, streamed before or between its answer; protocol minor 1. */
export const ReasoningFrame = frame('reasoning', { text: z.string() });

/**
 * The model called a tool, with arguments already validated against its schema. With
 * `approval: 'required'` the tool waits for an `approve`/`deny` (WebSocket frame or
 * `POST /api/approvals/:callId`) until `expiresAt`; a `tool_result` always follows.
 */
export const ToolCallFrame = frame('tool_call', {
  /** Names the call in decisions and in its `tool_result`. */
  callId: Id,
  /** The tool's name. */
  name: z.string(),
  /** The validated arguments. */
  args: z.record(z.string(), z.unknown()),
  /** Whether a person must approve the call before it runs. */
  approval: z.enum(['required', 'not_required']),
  /** Epoch milliseconds after which a decision is refused; present when approval is required. */
  expiresAt: z.number().int().optional(),
  /**
   * Present when `args` hold characters a person cannot see (zero-width, bidi controls; see
   * shared/hidden-characters.ts): each string's JSON Pointer and the code points; protocol minor 4.
   */
  hiddenCharacters: z.array(z.strictObject({ path: z.string(), codePoints: z.array(z.string()) })).optional(),
  /**
   * The app's data for the approval card (the tool's `approval.display`), any JSON of at most
   * `LIMITS.displayChars` characters; present only when approval is required; protocol minor 7.
   */
  display: z.unknown().optional(),
  /**
   * `client`: the browser runs this tool, not the server (protocol minor 8). It runs once the
   * `tool_run` frame for this call arrives (after the approval, when one is required) and answers
   * with `tool_output`. Absent: the server runs it.
   */
  runsOn: z.enum(['server', 'client']).optional(),
});

/**
 * A client tool's call is the client's to run now (protocol minor 8): its approval, if one was
 * required, was given. The client answers with a `tool_output` WebSocket frame or
 * `POST /api/tool-outputs/:callId` before `expiresAt`; after it the model is told `tool_timeout`.
 * Its `tool_result` follows the output. A client that resumes sees this frame again while the
 * call waits, and may still answer.
 */
export const ToolRunFrame = frame('tool_run', {
  /** The `tool_call` this asks to run. */
  callId: Id,
  /** Epoch milliseconds after which an output is refused (`tool_timeout`). */
  expiresAt: z.number().int(),
  /** The arguments to run with, when a person edited them before approving (validated again); absent: the `tool_call`'s. */
  args: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A tool call's outcome: the tool's result, or why it has none (`denied`, `approval_expired`,
 * `tool_timeout`, `tool_failed`, a tool's own `ToolError` code). Every `tool_call` gets one; a
 * call the model made with an unknown tool or invalid arguments gets only this one
 * (`unknown_tool`, `invalid_arguments`), never shown for approval. The model is told the same.
 */
export const ToolResultFrame = frame('tool_result', {
  /** The call this answers: its `tool_call`'s `callId`, when it had one. */
  callId: Id,
  /** True when the tool ran and returned. */
  ok: z.boolean(),
  /** What the tool returned, when `ok`. */
  result: z.unknown().optional(),
  /** Why not, when not `ok`; the message is safe to show. */
  error: ErrorBody.extend({ code: z.string() }).optional(),
  /** True when a person edited the arguments before approving; `args` are the ones that ran. Protocol minor 7. */
  edited: z.literal(true).optional(),
  /** The arguments the tool ran with, when a person edited them (validated again). Protocol minor 7. */
  args: z.record(z.string(), z.unknown()).optional(),
  /** With `error.code` `denied`, when the person gave a `code`: it and their reason. Protocol minor 7. */
  denial: z.strictObject({ code: DenyCode.optional(), reason: Reason.optional() }).optional(),
});

/**
 * Something went wrong. In a stream's log it comes right before `done` with reason `error`.
 * Outside the log it ends a view dropped as a slow consumer (resume from the last seq), and
 * over the WebSocket it answers a refused client frame: then `streamId` is the stream it
 * concerns, a refused `start`'s client `id`, or `-`, and `seq` the last one this socket
 * delivered for it (0 if none), so a resume point stays right.
 */
export const ErrorFrame = frame('error', {
  /** The stable code (`ERROR_CODES`). */
  code: z.enum(ERROR_CODE_LIST),
  /** A message safe to show; internals never reach the wire. */
  message: z.string(),
  /** Whether retrying (or resuming) may succeed. */
  retryable: z.boolean(),
  /** For `rate_limited` and `too_many_streams`: how long to wait before retrying, in milliseconds. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});

/** A stream's last frame, exactly one: why it ended and, when the upstream said, the tokens it used. */
export const DoneFrame = frame('done', {
  reason: DoneReason,
  usage: Usage.optional(),
});

/**
 * Every server → client frame, told apart by `type`: the `data` of an SSE event (whose `id` is
 * the `seq` and whose `event` is the `type`) or one WebSocket text message. Each names its
 * `streamId` and its `seq` (0, 1, 2, … within the stream). A client ignores types it does not know.
 */
export const ServerFrame = z.discriminatedUnion('type', [
  StartServerFrame,
  TokenFrame,
  ReasoningFrame,
  ToolCallFrame,
  ToolRunFrame,
  ToolResultFrame,
  ErrorFrame,
  DoneFrame,
]);
/** A server frame, as the `ServerFrame` schema parses it; switch on `type`. */
export type ServerFrame = z.infer<typeof ServerFrame>;
/** The `type` of a server frame: `start`, `token`, `reasoning`, `tool_call`, `tool_run`, `tool_result`, `error` or `done`. */
export type ServerFrameType = ServerFrame['type'];
/** A server frame of one type. */
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
/** What the engine appends: the hub adds `streamId` and `seq`. */
export type FrameBody = ServerFrame extends infer F
  ? F extends ServerFrame
    ? Omit<F, 'streamId' | 'seq'>
    : never
  : never;

// ---------------------------------------------------------------------------------------------
// Client → server frames (WebSocket messages; `approve`/`deny` also over HTTP).

/**
 * What a WebSocket view of a stream sends (protocol minor 2): `tokenwire` frames (the default),
 * or `ag-ui` events, each in an AgUiEventMessage (docs/interop.md).
 */
export const WsFormat = z.enum(['tokenwire', 'ag-ui']);
/** `tokenwire` or `ag-ui` (see the `WsFormat` schema). */
export type WsFormat = z.infer<typeof WsFormat>;

/** The view's format and, for `ag-ui`, the run's ids in its events (default: the stream id). */
const formatShape = { format: WsFormat.optional(), threadId: Id.optional(), runId: Id.optional() };
const runIdsNeedAgUi = (frame: { format?: WsFormat | undefined; threadId?: string | undefined; runId?: string | undefined }) =>
  frame.format === 'ag-ui' || (frame.threadId === undefined && frame.runId === undefined);
const runIdsMessage = { message: 'threadId and runId go with format "ag-ui"', path: ['format'] };

/**
 * A client-made, unguessable key for one chat start (protocol minor 3): a start repeated with
 * it gets the stream the first one made, from its `start` frame, instead of a new generation.
 */
export const IdempotencyKey = z
  .string()
  .min(LIMITS.idempotencyKeyMinChars)
  .max(LIMITS.idempotencyKeyMaxChars)
  .regex(/^[A-Za-z0-9._:~-]+$/, 'letters, digits and ._:~- only');

/**
 * Starts a chat over the WebSocket: a `ChatRequest` plus the client's own `id` for it (echoed in
 * the `start` frame, and the `streamId` of an `error` frame if the start is refused), an
 * optional `idempotencyKey`, and the view's `format`. The stream's frames follow on this socket.
 */
export const StartClientFrame = ChatRequest.extend({ type: z.literal('start'), id: Id, idempotencyKey: IdempotencyKey.optional(), ...formatShape }).refine(runIdsNeedAgUi, runIdsMessage);
/**
 * Approves a pending tool call, from a socket that started its stream, resumed it with its
 * token, or is its subject's; the tool runs and its `tool_result` follows. A refusal is an
 * `error` frame (`already_decided`, `approval_expired`, `unknown_call`, `forbidden`, …).
 */
export const ApproveFrame = z.strictObject({
  type: z.literal('approve'),
  callId: Id,
  /**
   * Edited arguments to run instead (protocol minor 7): validated by the tool's schema again;
   * invalid ones are refused `invalid_arguments` and the call stays pending.
   */
  args: EditedArgs.optional(),
  /** Why, for the audit and the tool's `run` context (protocol minor 7). */
  reason: Reason.optional(),
});
/**
 * Denies a pending tool call, with an optional reason and `code` (`DENY_CODE`, protocol minor 7)
 * the model is told; refused like `approve`. The tool does not run.
 */
export const DenyFrame = z.strictObject({
  type: z.literal('deny'),
  callId: Id,
  reason: Reason.optional(),
  code: DenyCode.optional(),
});
/**
 * Cancels a stream this socket started, views or is the subject of: the model request is
 * aborted and the stream ends with `done` reason `cancelled`. Any other is `unknown_stream`.
 */
export const CancelFrame = z.strictObject({ type: z.literal('cancel'), streamId: Id });
/**
 * Views a stream again on this socket, after a reconnect or a reload: the frames after
 * `lastSeq` are replayed, then the live ones. `stream_expired` when the log no longer holds them,
 * `forbidden` for another connection's stream without its token.
 */
export const ResumeFrame = z.strictObject({
  type: z.literal('resume'),
  streamId: Id,
  /** The last `seq` the client saw; -1 for none. */
  lastSeq: z.number().int().min(-1),
  /**
   * The stream's token from its `start` frame. Needed to resume a stream another connection
   * started (after a reconnect); it also lets this socket decide the stream's tool calls.
   */
  token: z.string().min(1).max(128).optional(),
  ...formatShape,
}).refine(runIdsNeedAgUi, runIdsMessage);

/**
 * Asks the server for a sign of life (protocol minor 5): it answers `{"type":"pong"}` at once,
 * a message outside the stream frames that only tells the client the path is alive. Browsers
 * cannot see RFC 6455 pings, so a client watching for a dead path sends this.
 */
export const PingFrame = z.strictObject({ type: z.literal('ping') });

/**
 * A client tool's own failure (`tool_output`'s `error`): a stable code of the client's choice
 * (letters, digits, `_`, `-`) and a message the model and the user may see.
 */
export const ToolOutputError = z.strictObject({
  code: z.string().regex(/^[A-Za-z0-9_-]+$/).max(LIMITS.toolErrorCodeChars),
  message: z.string().max(LIMITS.reasonChars),
});

const oneOfOutputOrError = (body: { output?: unknown; error?: unknown }) => ('output' in body) !== ('error' in body);
const oneOfMessage = { message: 'give exactly one of output and error' };

/**
 * A client tool's answer to its `tool_run` (protocol minor 8): `output` (any JSON, at most
 * `LIMITS.toolOutputBytes`), or `error` when the tool failed. Accepted once, from a socket that
 * may control the stream; refused with an `error` frame: `already_decided` (answered before),
 * `tool_timeout` (too late), `unknown_call`, `forbidden`, `invalid_request`, `payload_too_large`.
 */
export const ToolOutputFrame = z
  .strictObject({ type: z.literal('tool_output'), callId: Id, output: ClientJson.optional(), error: ToolOutputError.optional() })
  .refine(oneOfOutputOrError, oneOfMessage);

/** Every client → server WebSocket message, told apart by `type`; one that does not parse is answered `invalid_frame`. */
export const ClientFrame = z.discriminatedUnion('type', [
  StartClientFrame,
  ApproveFrame,
  DenyFrame,
  CancelFrame,
  ResumeFrame,
  PingFrame,
  ToolOutputFrame,
]);
/** A client frame, as the `ClientFrame` schema parses it; switch on `type`. */
export type ClientFrame = z.infer<typeof ClientFrame>;
/** A client frame of one type. */
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

/**
 * One AG-UI event of a WebSocket view in format `ag-ui` (protocol minor 2): `streamId` says
 * which stream, `seq` the last frame of the stream whose events are all sent up to this one
 * (resume from it), `event` an `@ag-ui/core` event (checked by that package's schema).
 */
export const AgUiEventMessage = z.strictObject({
  streamId: Id,
  seq: z.number().int().min(-1),
  event: z.looseObject({ type: z.string() }),
});
/** One AG-UI event message, as the `AgUiEventMessage` schema parses it. */
export type AgUiEventMessage = z.infer<typeof AgUiEventMessage>;

/** Body of `POST /api/approvals/:callId`; the stream token may instead come as `X-Stream-Token`. */
export const ApprovalDecisionRequest = z
  .strictObject({
    decision: z.enum(['approve', 'deny']),
    token: z.string().min(1).max(128).optional(),
    reason: Reason.optional(),
    /** With `approve`: edited arguments, as on the `approve` frame (protocol minor 7). */
    args: EditedArgs.optional(),
    /** With `deny`: a code, as on the `deny` frame (protocol minor 7). */
    code: DenyCode.optional(),
  })
  .refine((b) => b.decision === 'approve' || b.args === undefined, { message: 'args go with approve only', path: ['args'] })
  .refine((b) => b.decision === 'deny' || b.code === undefined, { message: 'code goes with deny only', path: ['code'] });
/** A decision's body, as the `ApprovalDecisionRequest` schema parses it. */
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequest>;

/**
 * Body of `POST /api/tool-outputs/:callId` (protocol minor 8): a client tool's `output` or
 * `error`, as in the `tool_output` frame; the stream token may come as `token` or `X-Stream-Token`.
 */
export const ToolOutputRequest = z
  .strictObject({ output: ClientJson.optional(), error: ToolOutputError.optional(), token: z.string().min(1).max(128).optional() })
  .refine(oneOfOutputOrError, oneOfMessage);
/** A tool output's body, as the `ToolOutputRequest` schema parses it. */
export type ToolOutputRequest = z.infer<typeof ToolOutputRequest>;

/** Names of the HTTP headers tokenwire sets or reads. */
export const HEADERS = {
  streamId: 'x-tokenwire-stream-id',
  protocol: 'x-tokenwire-protocol',
  /** The stream's capability (`streamToken` from its `start` frame), for anonymous streams. */
  streamToken: 'x-stream-token',
  /** The instance that answered (INSTANCE_ID), on every HTTP response and the WebSocket upgrade, so routing can be seen. */
  instance: 'x-tokenwire-instance',
  /** A chat start's key (IETF draft-ietf-httpapi-idempotency-key-header), on `POST /api/chat`; protocol minor 3. */
  idempotencyKey: 'idempotency-key',
} as const;
