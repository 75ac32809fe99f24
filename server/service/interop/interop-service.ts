import { TokenwireError } from '../../../shared/errors.js';
import { parseWith } from '../../../shared/frame-codec.js';
import type { Identity } from '../../access/stream-access.js';
import type { Logger } from '../../observability/log.js';
import type { Config } from '../../settings/config.js';
import type { ChatService } from '../chat-service.js';
import type { StreamControl } from '../stream-control.js';
import { cancelStream, findStream, parseResumePoint } from '../stream-requests.js';
import type { StreamLog } from '../../streams/hub.js';
import type { ViewStart } from '../../views/stream-view.js';
import type { SseEncoder } from '../../views/sse-encoder.js';
import { createAgUiMapper, encodeAgUiEvent } from '../../views/mappers/ag-ui.js';
import { parseRunAgentInput, resumeDecisions, toChatRequest as agUiChatRequest, toolOutputs as agUiToolOutputs } from './ag-ui-request.js';
import { isClientTool } from '../../tools/client-tool.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { AiSdkChatBody, approvalResponses, toChatRequest as aiSdkChatRequest, toolOutputResponses } from './ai-sdk-request.js';
import { answerCalls } from './client-outputs.js';
import { createUiMessageMapper, encodeUiChunk, UI_MESSAGE_STREAM_HEADERS, UI_MESSAGE_STREAM_TRAILER } from '../../views/mappers/ai-sdk-ui-stream.js';
import { decideCalls, holdForDecision } from './approvals.js';
import { accessThrough, conversationKey, createMemoryConversations, type ConversationEntry, type Conversations } from '../../fleet/conversations.js';
import { createMappedEncoder, type MappedEncoderOptions } from '../../views/mapped-encoder.js';
import { openMappedView, type MappedViewRange } from '../../views/mapped-view.js';
import type { ProtocolMapper } from '../../views/mappers/mapper.js';

/** Who asks, as an edge (Express, a web Request) tells it. */
export interface InteropCaller {
  /** Who the authenticator says it is; undefined: anonymous, and no per-client limit applies. */
  identity: Identity | undefined;
  /** The request's `Last-Event-ID` header, as sent. */
  lastEventId: string | undefined;
  /** Whether the client has left (its connection closed). */
  gone(): boolean;
}

/** An opened view, for the edge to run on its sink (or to let go of, when it cannot). */
export interface InteropView {
  streamId: string;
  start: Extract<ViewStart, { status: 'ok' }>;
  encoder: SseEncoder;
  /** The last seq the client has. */
  afterSeq: number;
  /** The protocol's own response headers, beside the SSE ones. */
  headers: Readonly<Record<string, string>>;
}

/** What an interop request gets; refusals are thrown as TokenwireError. */
export type InteropAnswer =
  | { kind: 'json'; body: unknown }
  | { kind: 'no_content' }
  | { kind: 'not_viewed'; start: Exclude<ViewStart, { status: 'ok' }> }
  | { kind: 'view'; view: InteropView };

/** The interop routes' work, whatever the server framework: one per route. */
export interface InteropService {
  /** `POST /api/ai-sdk/chat`: a new chat's generation, or the rest of one after a decision. */
  aiSdkChat(caller: InteropCaller, body: unknown): Promise<InteropAnswer>;
  /** `GET /api/ai-sdk/chat/:id/stream`: the chat's message again, or 204 when nothing is generating. */
  aiSdkResume(caller: InteropCaller, chatId: string): Promise<InteropAnswer>;
  /** `DELETE /api/ai-sdk/chat/:id/stream`: cancels the chat's generation. */
  aiSdkCancel(caller: InteropCaller, chatId: string): Promise<InteropAnswer>;
  /** `POST /api/ag-ui`: a new run, a run that answers interrupts, or a known run again. */
  agUiRun(caller: InteropCaller, body: unknown): Promise<InteropAnswer>;
}

/** What the interop service uses: it starts and controls streams through the services, as the native routes do. */
export interface InteropServiceDeps {
  chat: ChatService;
  control: StreamControl;
  log: Logger;
  config: Pick<Config, 'STREAM_TTL_MS'>;
  /** The fleet's conversation store (Redis), so any instance serves any conversation; else one in memory. */
  conversations?: Conversations | undefined;
  /** The instance's tools, to tell which of a run's frontend tools are client tools it offers; without it none are. */
  tools?: Pick<ToolRegistry, 'get'> | undefined;
}

type ViewRange = MappedViewRange & Pick<MappedEncoderOptions<unknown>, 'decidedCallId' | 'continueThroughDecided'>;

/** `Last-Event-ID` as a seq (-1: none yet), read as the native routes read it; undefined when absent. */
function lastEventIdOf(caller: InteropCaller): number | undefined {
  const raw = caller.lastEventId;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seq = parseResumePoint(raw);
  if (seq instanceof TokenwireError) throw seq;
  return seq;
}

/**
 * The AI SDK's UI message stream (`useChat`) and AG-UI (`HttpAgent`, CopilotKit) served from
 * tokenwire's streams, runtime-neutral; server/edge/interop/interop.ts puts it on Express and on
 * web Requests. One conversation store, keyed by the caller's subject and the protocol's ids:
 * the fleet's (Redis) when there is one, so any instance serves any conversation, else one in
 * memory per call; every view, cancel and decision through the native access rule
 * (findStream, canControl); every response through the one SSE view. See docs/interop.md.
 */
export function createInteropService(deps: InteropServiceDeps): InteropService {
  const { chat, control, log, config } = deps;
  const conversations = deps.conversations ?? createMemoryConversations();
  /** A conversation is needed while its stream may be resumed: its resume window, then its TTL. */
  const remember = (key: string, entry: ConversationEntry, stream: StreamLog) => conversations.set(key, entry, stream.graceMs + config.STREAM_TTL_MS);
  /**
   * Remembers a new stream's conversations before it is viewed: unremembered, nobody could
   * resume or cancel it, so it is cancelled and the start refused (`store_unavailable`, retryable).
   */
  async function rememberStarted(stream: StreamLog, keys: string[], entry: ConversationEntry): Promise<void> {
    try {
      await Promise.all(keys.map((key) => remember(key, entry, stream)));
    } catch (error) {
      // The start may be another instance's (an idempotent repeat): cancel it where it runs.
      void stream.cancel().catch(() => undefined);
      throw error instanceof TokenwireError ? error : new TokenwireError('store_unavailable', undefined, { cause: error });
    }
  }
  /**
   * Whether a stream has ended: this process knows its own streams'; one another instance runs
   * knows its end only from the log, whose last record a read past the end still reports.
   */
  async function hasEnded(stream: StreamLog): Promise<boolean> {
    if (stream.done || control.localStream(stream.id) === stream) return stream.done;
    const read = await stream.read(Number.MAX_SAFE_INTEGER - 1);
    return read.status !== 'ok' || read.ended;
  }
  // Keys start with the caller's subject: another subject who knows a chat's or a run's ids
  // finds no conversation there, as a stream they may not know is unknown to them natively.
  const chatKey = (subject: string | undefined, id: string) => conversationKey(subject, 'ai-sdk', id);
  const threadKey = (subject: string | undefined, threadId: string) => conversationKey(subject, 'ag-ui', threadId);
  const runKey = (subject: string | undefined, threadId: string, runId: string) => conversationKey(subject, 'ag-ui', threadId, runId);

  /**
   * The shared SSE view of a stream through a protocol's mapper, from `range`: the answer
   * where a view cannot start (204, resume_ahead, stream_expired), else the opened view.
   */
  async function viewMapped<E>(stream: StreamLog, mapper: ProtocolMapper<E>, options: ViewRange & Omit<MappedEncoderOptions<E>, 'onPause'>, headers: Readonly<Record<string, string>>): Promise<InteropAnswer> {
    const start = await openMappedView(stream, mapper, options);
    if (start.status !== 'ok') return { kind: 'not_viewed', start };
    const encoder = createMappedEncoder(mapper, { ...options, onPause: (callId) => holdForDecision(stream, callId) });
    return { kind: 'view', view: { streamId: stream.id, start, encoder, afterSeq: options.resumeAt, headers } };
  }
  const viewUiStream = (stream: StreamLog, range: ViewRange) =>
    viewMapped(stream, createUiMessageMapper({ messageId: stream.id }), { ...range, encode: encodeUiChunk, trailer: UI_MESSAGE_STREAM_TRAILER }, UI_MESSAGE_STREAM_HEADERS);
  const viewRun = (stream: StreamLog, run: { threadId: string; runId: string }, entry: ConversationEntry, after?: number) =>
    viewMapped(
      stream,
      createAgUiMapper(run),
      {
        base: entry.fromSeq,
        resumeAt: Math.max(entry.silentThrough ?? entry.fromSeq, after ?? entry.fromSeq),
        decidedCallId: entry.decidedCallId,
        // A run ends at its interrupt even in a replay: the decision belongs to the next run.
        continueThroughDecided: false,
        encode: encodeAgUiEvent,
      },
      {},
    );
  /** The stream a conversation of this caller names, if any and if the caller may access it. */
  async function streamOf(entry: ConversationEntry | undefined, subject: string | undefined): Promise<StreamLog | undefined> {
    if (!entry) return undefined;
    const found = await findStream(control, entry.streamId, accessThrough(entry, subject));
    if (found instanceof TokenwireError && found.code !== 'unknown_stream') throw found;
    return found instanceof TokenwireError ? undefined : found;
  }
  const start = (request: Parameters<ChatService['startChat']>[0], caller: InteropCaller) =>
    chat.startChat(request, { transport: 'sse', gone: caller.gone, ...(caller.identity ? { identity: caller.identity } : {}) });

  return {
    async aiSdkChat(caller, raw) {
      const body = parseWith(AiSdkChatBody, raw);
      if (!body.ok) throw new TokenwireError('invalid_request', `The body is not a valid AI SDK chat request: ${body.message}.`);
      const subject = caller.identity?.subject;
      const key = chatKey(subject, body.value.id);
      const answered = approvalResponses(body.value);
      // A client tool's output (`addToolOutput`) continues the message after the call's `tool_run`.
      const outputs = await answerCalls(control, toolOutputResponses(body.value), await conversations.get(key), subject, answered.length === 0);
      if (outputs) {
        try {
          // The mapper sees the call from its tool_call; the response starts after its tool_run.
          return await viewUiStream(outputs.stream, { base: outputs.callSeq - 1, resumeAt: outputs.runSeq, decidedCallId: outputs.callId, continueThroughDecided: false });
        } finally {
          outputs.release();
        }
      }
      // Calls any instance knows (with a fleet, wherever they wait).
      const known = await Promise.all(answered.map(async (answer) => ((await control.streamOfCall(answer.callId)) !== undefined ? answer : undefined)));
      const answers = known.filter((answer) => answer !== undefined);
      // A decision for a call no instance knows cannot be applied; starting over would hide that.
      if (answered.length > 0 && answers.length === 0) throw new TokenwireError('unknown_call', 'No tool call with that approval id is known.');
      if (answers.length > 0) {
        // The decision comes back inside the messages; the chat that saw the call may decide it.
        const { stream, callSeq, release } = await decideCalls(control, answers, await conversations.get(key), subject);
        try {
          return await viewUiStream(stream, { base: callSeq - 1, resumeAt: callSeq, decidedCallId: answers.at(-1)!.callId, continueThroughDecided: false });
        } finally {
          release();
        }
      }
      const request = aiSdkChatRequest(body.value);
      if (!request.ok) throw new TokenwireError('invalid_request', `The messages are not a valid chat: ${request.message}.`);
      const stream = await start(request.value, caller);
      await rememberStarted(stream, [key], { streamId: stream.id, streamToken: stream.streamToken, fromSeq: -1 });
      return viewUiStream(stream, { base: -1, resumeAt: -1, continueThroughDecided: false });
    },

    // The AI SDK's resume (`resumeStream()`, `useChat({ resume: true })`): the whole message again
    // from tokenwire's log, or from `Last-Event-ID`; 204 when nothing is generating, which is
    // how its transport learns there is nothing to resume.
    async aiSdkResume(caller, chatId) {
      const after = lastEventIdOf(caller);
      const subject = caller.identity?.subject;
      const stream = await streamOf(await conversations.get(chatKey(subject, chatId)), subject);
      if (!stream || (await hasEnded(stream))) return { kind: 'no_content' };
      return viewUiStream(stream, { base: -1, resumeAt: after ?? -1, continueThroughDecided: true });
    },

    // The AI SDK's `stop()` only aborts its fetch, which a resumable stream outlives for its
    // grace window; this cancels the generation at once, answered once it is applied (by the
    // stream's owner, when another instance runs it), as DELETE /api/streams/:id is.
    async aiSdkCancel(caller, chatId) {
      const subject = caller.identity?.subject;
      const stream = await streamOf(await conversations.get(chatKey(subject, chatId)), subject);
      if (!stream) throw new TokenwireError('unknown_stream', 'No stream is known for that chat.');
      const cancelled = await cancelStream(stream);
      if (cancelled instanceof TokenwireError) throw cancelled;
      return { kind: 'json', body: cancelled };
    },

    async agUiRun(caller, raw) {
      const parsed = parseRunAgentInput(raw);
      if (!parsed.ok) throw new TokenwireError('invalid_request', `The body is not a valid RunAgentInput: ${parsed.message}.`);
      const input = parsed.value;
      const after = lastEventIdOf(caller);
      const ids = { threadId: input.threadId, runId: input.runId };
      const subject = caller.identity?.subject;
      const key = runKey(subject, input.threadId, input.runId);

      // The same run again: AG-UI has no resume of its own, so this is it (from Last-Event-ID).
      const known = await conversations.get(key);
      if (known) {
        const stream = await findStream(control, known.streamId, accessThrough(known, subject));
        if (stream instanceof TokenwireError) throw stream;
        return viewRun(stream, ids, known, after);
      }
      if (after !== undefined) throw new TokenwireError('unknown_stream', 'No such run to resume: send its threadId and runId.');

      const decisions = resumeDecisions(input);
      // A frontend tool's result (a `tool` message) continues the thread's stream after the call's `tool_run`.
      const outputs = await answerCalls(control, agUiToolOutputs(input), await conversations.get(threadKey(subject, input.threadId)), subject, decisions.length === 0);
      if (outputs) {
        const entry = { streamId: outputs.stream.id, streamToken: outputs.stream.streamToken, fromSeq: outputs.callSeq - 1, silentThrough: outputs.runSeq, decidedCallId: outputs.callId };
        try {
          await remember(key, entry, outputs.stream).catch((error: unknown) => log.warn({ err: error, streamId: outputs.stream.id }, 'AG-UI run not remembered'));
          return await viewRun(outputs.stream, ids, entry);
        } finally {
          outputs.release();
        }
      }
      if (decisions.length > 0) {
        // Answers to the interrupts the thread's last run ended with; the thread that saw them may decide.
        const { stream, callSeq, release } = await decideCalls(control, decisions, await conversations.get(threadKey(subject, input.threadId)), subject);
        const entry = { streamId: stream.id, streamToken: stream.streamToken, fromSeq: callSeq - 1, silentThrough: callSeq, decidedCallId: decisions.at(-1)!.callId };
        try {
          // The decision is recorded: this run is answered even if it cannot be remembered, which
          // costs only a later Last-Event-ID re-run of it (404) rather than the decision's answer.
          await remember(key, entry, stream).catch((error: unknown) => log.warn({ err: error, streamId: stream.id }, 'AG-UI run not remembered'));
          return await viewRun(stream, ids, entry);
        } finally {
          release();
        }
      }

      const request = agUiChatRequest(input, (name) => {
        const tool = deps.tools?.get(name);
        return tool !== undefined && isClientTool(tool);
      });
      if (!request.ok) throw new TokenwireError('invalid_request', `The run is not a valid chat: ${request.message}.`);
      const stream = await start(request.value, caller);
      const entry = { streamId: stream.id, streamToken: stream.streamToken, fromSeq: -1 };
      await rememberStarted(stream, [threadKey(subject, input.threadId), key], entry);
      return viewRun(stream, ids, entry);
    },
  };
}
