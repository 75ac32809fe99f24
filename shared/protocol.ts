import { z } from 'zod';
import { ERROR_CODE_LIST } from './errors.js';

/**
 * Wire protocol version; sent in every `start` frame. Bump on a breaking change.
 * 2 (issue 12): the stream's capability is `streamToken`, sent as `X-Stream-Token` or `?token=`,
 * no longer `Authorization: Bearer`; version 2 still sends `approvalToken` and reads the old
 * header when authentication is off; version 3 drops both.
 */
export const PROTOCOL_VERSION = 2;
/**
 * Additions within `PROTOCOL_VERSION`: bumped when a frame type or an optional field is added,
 * which clients ignore until they know it. 1: the `reasoning` frame and `usage.reasoningTokens`.
 * 2: `format` (with `threadId`, `runId`) on the WebSocket `start` and `resume` frames (AG-UI
 *    over the WebSocket), and `instanceId` in the `start` frame (several instances on Redis).
 * 3 (issue 17): an idempotent start: `idempotencyKey` on the WebSocket `start` frame, the
 *    `Idempotency-Key` header on `POST /api/chat`; a repeat gets the same stream from its start.
 * 4: `hiddenCharacters` on the `tool_call` frame: where the arguments hold zero-width or bidi
 *    control characters a person deciding on them cannot see.
 */
export const PROTOCOL_MINOR = 4;

/** Limits on what a client may send, shared so clients can check before sending. */
export const LIMITS = {
  messages: 200,
  messageChars: 32_000,
  tools: 16,
  idChars: 64,
  reasonChars: 500,
  /** An idempotency key: long enough to be unguessable (a UUID is 36). */
  idempotencyKeyMinChars: 16,
  idempotencyKeyMaxChars: 128,
} as const;

const Id = z.string().min(1).max(LIMITS.idChars);
const Seq = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------
// Requests: what a client asks for (the SSE POST body and the WebSocket `start` frame).

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(LIMITS.messageChars),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

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

export const ChatOptions = z.strictObject({
  model: z.string().min(1).max(200).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  /** How long the server keeps generating after the last viewer left, so it can resume. */
  resumeGraceMs: z.number().int().min(0).max(600_000).optional(),
  simulate: SimulateOptions.optional(),
});
export type ChatOptions = z.infer<typeof ChatOptions>;

export const ChatRequest = z.strictObject({
  messages: z.array(ChatMessage).min(1).max(LIMITS.messages),
  tools: z.array(z.string().min(1).max(64)).max(LIMITS.tools).optional(),
  options: ChatOptions.optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

// ---------------------------------------------------------------------------------------------
// Server → client frames. Every frame names its stream and its place in it.

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ type: z.literal(type), streamId: Id, seq: Seq, ...shape });

export const Usage = z.strictObject({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  /** Of `completionTokens`, those spent on reasoning, when the upstream reports them. */
  reasoningTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const ErrorBody = z.strictObject({
  code: z.enum(ERROR_CODE_LIST),
  message: z.string(),
});

export const DoneReason = z.enum(['stop', 'length', 'cancelled', 'error', 'tool_rounds', 'content_filter']);
export type DoneReason = z.infer<typeof DoneReason>;

export const Transport = z.enum(['sse', 'ws']);
export type Transport = z.infer<typeof Transport>;

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

export const TokenFrame = frame('token', { text: z.string() });

/** The model's reasoning ("thinking") text, streamed before or between its answer; protocol minor 1. */
export const ReasoningFrame = frame('reasoning', { text: z.string() });

export const ToolCallFrame = frame('tool_call', {
  callId: Id,
  name: z.string(),
  args: z.record(z.string(), z.unknown()),
  approval: z.enum(['required', 'not_required']),
  /** Epoch milliseconds after which a decision is refused; present when approval is required. */
  expiresAt: z.number().int().optional(),
  /**
   * Present when `args` hold characters a person cannot see (zero-width, bidi controls; see
   * shared/hidden-characters.ts): each string's JSON Pointer and the code points; protocol minor 4.
   */
  hiddenCharacters: z.array(z.strictObject({ path: z.string(), codePoints: z.array(z.string()) })).optional(),
});

export const ToolResultFrame = frame('tool_result', {
  callId: Id,
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: ErrorBody.extend({ code: z.string() }).optional(),
});

export const ErrorFrame = frame('error', {
  code: z.enum(ERROR_CODE_LIST),
  message: z.string(),
  retryable: z.boolean(),
  /** For `rate_limited` and `too_many_streams`: how long to wait before retrying, in milliseconds. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});

export const DoneFrame = frame('done', {
  reason: DoneReason,
  usage: Usage.optional(),
});

export const ServerFrame = z.discriminatedUnion('type', [
  StartServerFrame,
  TokenFrame,
  ReasoningFrame,
  ToolCallFrame,
  ToolResultFrame,
  ErrorFrame,
  DoneFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
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

export const StartClientFrame = ChatRequest.extend({ type: z.literal('start'), id: Id, idempotencyKey: IdempotencyKey.optional(), ...formatShape }).refine(runIdsNeedAgUi, runIdsMessage);
export const ApproveFrame = z.strictObject({ type: z.literal('approve'), callId: Id });
export const DenyFrame = z.strictObject({
  type: z.literal('deny'),
  callId: Id,
  reason: z.string().max(LIMITS.reasonChars).optional(),
});
export const CancelFrame = z.strictObject({ type: z.literal('cancel'), streamId: Id });
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

export const ClientFrame = z.discriminatedUnion('type', [
  StartClientFrame,
  ApproveFrame,
  DenyFrame,
  CancelFrame,
  ResumeFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
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
export type AgUiEventMessage = z.infer<typeof AgUiEventMessage>;

/** Body of `POST /api/approvals/:callId`; the stream token may instead come as `X-Stream-Token`. */
export const ApprovalDecisionRequest = z.strictObject({
  decision: z.enum(['approve', 'deny']),
  token: z.string().min(1).max(128).optional(),
  reason: z.string().max(LIMITS.reasonChars).optional(),
});
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequest>;

/** Names of the HTTP headers tokenwire sets or reads. */
export const HEADERS = {
  streamId: 'x-tokenwire-stream-id',
  protocol: 'x-tokenwire-protocol',
  /** The stream's capability (`streamToken` from its `start` frame), for anonymous streams. */
  streamToken: 'x-stream-token',
  /** The instance that answered (INSTANCE_ID), on every HTTP response and the WebSocket upgrade (issue 10). */
  instance: 'x-tokenwire-instance',
  /** A chat start's key (IETF draft-ietf-httpapi-idempotency-key-header), on `POST /api/chat`; protocol minor 3. */
  idempotencyKey: 'idempotency-key',
} as const;
