import express, { type Express, type Request, type Response } from 'express';
import { TokenwireError, toTokenwireError } from '../../shared/errors.js';
import { parseWith } from '../../shared/frame-codec.js';
import type { Core } from '../core.js';
import { identityOf } from './identify.js';
import { createAgUiMapper, encodeAgUiEvent } from '../interop/ag-ui.js';
import { parseRunAgentInput, resumeDecisions, toChatRequest as agUiChatRequest } from '../interop/ag-ui-request.js';
import { AiSdkChatBody, approvalResponses, toChatRequest } from '../interop/ai-sdk-request.js';
import { createUiMessageMapper, encodeUiChunk, UI_MESSAGE_STREAM_HEADERS, UI_MESSAGE_STREAM_TRAILER } from '../interop/ai-sdk-ui-stream.js';
import { decideCalls, holdForDecision } from '../interop/approvals.js';
import { accessThrough, conversationKey, createConversations, type ConversationEntry } from '../interop/conversations.js';
import { createMappedEncoder, type MappedEncoderOptions } from '../interop/mapped-encoder.js';
import { openMappedView, type MappedViewRange } from '../interop/mapped-view.js';
import type { ProtocolMapper } from '../interop/mapper.js';
import type { Stream } from '../streams/hub.js';
import { answerStartOnResponse, viewOnResponse } from '../transports/sse.js';
import { findStream, parseResumePoint } from './stream-requests.js';

const fail = (res: Response, error: TokenwireError) => res.status(error.status).json(error.toJSON());

/** `Last-Event-ID` as a seq (-1: none yet), as the native routes read it; undefined when absent. */
function lastEventId(req: Request): number | undefined {
  const raw = req.get('last-event-id');
  if (raw === undefined || raw.trim() === '') return undefined;
  const seq = parseResumePoint(raw);
  if (seq instanceof TokenwireError) throw seq;
  return seq;
}

type ViewOptions = MappedViewRange & Pick<MappedEncoderOptions<unknown>, 'decidedCallId' | 'continueThroughDecided'>;

/**
 * The ecosystem's stream protocols served from tokenwire's streams (issue 15): the AI SDK's
 * UI message stream (`useChat`) on /api/ai-sdk/chat, and AG-UI (`HttpAgent`, CopilotKit) on
 * /api/ag-ui. Each maps frames in one module of
 * server/interop/; there is no second engine. See docs/interop.md.
 */
export function addInteropRoutes(app: Express, core: Core): void {
  const json = express.json({ limit: '1mb' });
  const conversations = createConversations();
  /**
   * The shared SSE view of a stream through a protocol's mapper, from `range`: its answers
   * where a view cannot start (204, resume_ahead, stream_expired), else the mapped events.
   */
  const viewMapped = async <E>(res: Response, stream: Stream, mapper: ProtocolMapper<E>, options: ViewOptions & Omit<MappedEncoderOptions<E>, 'onPause'>, headers: Record<string, string>) => {
    const start = await openMappedView(stream, mapper, options);
    if (start.status !== 'ok') return answerStartOnResponse(res, start);
    const encoder = createMappedEncoder(mapper, { ...options, onPause: (callId) => holdForDecision(stream, callId) });
    viewOnResponse(res, start, stream.id, { heartbeatMs: core.config.HEARTBEAT_MS, maxBufferedBytes: core.config.MAX_BUFFERED_BYTES, afterSeq: options.resumeAt, encoder, headers });
  };

  const run = (res: Response, work: () => void | Promise<void>) => {
    Promise.resolve()
      .then(work)
      .catch((error: unknown) => {
        const known = toTokenwireError(error);
        if (known.code === 'internal') core.log.error({ err: error }, 'interop request failed');
        if (res.headersSent) res.end();
        else fail(res, known);
      });
  };

  // --- AI SDK UI message stream -------------------------------------------------------------
  // Keys start with the caller's subject: another subject who knows a chat's or a run's ids
  // finds no conversation there (what a stream they may not know answers natively).
  const chatKey = (subject: string | undefined, id: string) => conversationKey(subject, 'ai-sdk', id);
  const viewUiStream = (res: Response, stream: Stream, options: ViewOptions) =>
    viewMapped(res, stream, createUiMessageMapper({ messageId: stream.id }), { ...options, encode: encodeUiChunk, trailer: UI_MESSAGE_STREAM_TRAILER }, UI_MESSAGE_STREAM_HEADERS);

  app.post('/api/ai-sdk/chat', json, (req, res) =>
    run(res, async () => {
      if (!req.is('application/json')) throw new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
      const body = parseWith(AiSdkChatBody, req.body);
      if (!body.ok) throw new TokenwireError('invalid_request', `The body is not a valid AI SDK chat request: ${body.message}.`);
      const { subject } = identityOf(res);
      const key = chatKey(subject, body.value.id);
      const answered = approvalResponses(body.value);
      // Conversations are kept per process (docs/interop.md): with several instances, route a chat to one.
      const answers = answered.filter((answer) => core.approvals.streamOf(answer.callId) !== undefined);
      // A decision for a call this process never saw cannot be applied; starting over would hide that.
      if (answered.length > 0 && answers.length === 0) throw new TokenwireError('unknown_call', 'No tool call with that approval id is known.');
      if (answers.length > 0) {
        // The decision comes back inside the messages; the chat that saw the call may decide it.
        const { stream, callSeq, release } = await decideCalls(core, answers, conversations.get(key), subject);
        try {
          return await viewUiStream(res, stream, { base: callSeq - 1, resumeAt: callSeq, decidedCallId: answers.at(-1)!.callId, continueThroughDecided: false });
        } finally {
          release();
        }
      }
      const request = toChatRequest(body.value);
      if (!request.ok) throw new TokenwireError('invalid_request', `The messages are not a valid chat: ${request.message}.`);
      const stream = await core.startChat(request.value, { transport: 'sse', identity: identityOf(res), gone: () => res.destroyed });
      conversations.set(key, { streamId: stream.id, streamToken: stream.approvalToken, fromSeq: -1 });
      return viewUiStream(res, stream, { base: -1, resumeAt: -1, continueThroughDecided: false });
    }),
  );

  // The AI SDK's resume (`resumeStream()`, `useChat({ resume: true })`): the whole message again
  // from tokenwire's log, or from `Last-Event-ID`; 204 when nothing is generating.
  app.get('/api/ai-sdk/chat/:id/stream', (req, res) =>
    run(res, async () => {
      const after = lastEventId(req);
      const { subject } = identityOf(res);
      const entry = conversations.get(chatKey(subject, req.params.id));
      const found = entry && (await findStream(core, entry.streamId, accessThrough(entry, subject)));
      if (found instanceof TokenwireError && found.code !== 'unknown_stream') throw found;
      const stream = found instanceof TokenwireError ? undefined : found;
      if (!stream || stream.done) {
        res.status(204).end();
        return;
      }
      return viewUiStream(res, stream, { base: -1, resumeAt: after ?? -1, continueThroughDecided: true });
    }),
  );

  // The AI SDK's `stop()` only aborts its fetch, which a resumable stream outlives for its grace
  // window; this cancels the generation at once.
  app.delete('/api/ai-sdk/chat/:id/stream', (req, res) =>
    run(res, async () => {
      const { subject } = identityOf(res);
      const entry = conversations.get(chatKey(subject, req.params.id));
      if (!entry) throw new TokenwireError('unknown_stream', 'No stream is known for that chat.');
      const stream = await findStream(core, entry.streamId, accessThrough(entry, subject));
      if (stream instanceof TokenwireError) throw stream;
      const wasRunning = !stream.done;
      stream.abort('cancelled');
      res.json({ ok: true, cancelled: wasRunning });
    }),
  );

  // --- AG-UI ----------------------------------------------------------------------------------
  const threadKey = (subject: string | undefined, threadId: string) => conversationKey(subject, 'ag-ui', threadId);
  const runKey = (subject: string | undefined, threadId: string, runId: string) => conversationKey(subject, 'ag-ui', threadId, runId);
  const viewRun = (res: Response, stream: Stream, run: { threadId: string; runId: string }, entry: ConversationEntry, after?: number) =>
    viewMapped(
      res,
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

  app.post('/api/ag-ui', json, (req, res) =>
    run(res, async () => {
      if (!req.is('application/json')) throw new TokenwireError('unsupported_media_type', 'Send the body as application/json.');
      const parsed = parseRunAgentInput(req.body);
      if (!parsed.ok) throw new TokenwireError('invalid_request', `The body is not a valid RunAgentInput: ${parsed.message}.`);
      const input = parsed.value;
      const after = lastEventId(req);
      const ids = { threadId: input.threadId, runId: input.runId };
      const { subject } = identityOf(res);
      const key = runKey(subject, input.threadId, input.runId);

      // The same run again: AG-UI has no resume of its own, so this is it (from Last-Event-ID).
      const known = conversations.get(key);
      if (known) {
        const stream = await findStream(core, known.streamId, accessThrough(known, subject));
        if (stream instanceof TokenwireError) throw stream;
        return viewRun(res, stream, ids, known, after);
      }
      if (after !== undefined) throw new TokenwireError('unknown_stream', 'No such run to resume: send its threadId and runId.');

      const decisions = resumeDecisions(input);
      if (decisions.length > 0) {
        // Answers to the interrupts the thread's last run ended with; the thread that saw them may decide.
        const { stream, callSeq, release } = await decideCalls(core, decisions, conversations.get(threadKey(subject, input.threadId)), subject);
        const entry = { streamId: stream.id, streamToken: stream.approvalToken, fromSeq: callSeq - 1, silentThrough: callSeq, decidedCallId: decisions.at(-1)!.callId };
        conversations.set(key, entry);
        try {
          return await viewRun(res, stream, ids, entry);
        } finally {
          release();
        }
      }

      const request = agUiChatRequest(input);
      if (!request.ok) throw new TokenwireError('invalid_request', `The run is not a valid chat: ${request.message}.`);
      const stream = await core.startChat(request.value, { transport: 'sse', identity: identityOf(res), gone: () => res.destroyed });
      const entry = { streamId: stream.id, streamToken: stream.approvalToken, fromSeq: -1 };
      conversations.set(threadKey(subject, input.threadId), entry);
      conversations.set(key, entry);
      return viewRun(res, stream, ids, entry);
    }),
  );
}
