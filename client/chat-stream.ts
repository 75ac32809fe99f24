// Over 300 lines on purpose: one chat's stateful object (transport, resume, tool calls, batching), kept whole so its state has one owner.
import { TokenwireError } from '../shared/errors.js';
import type { DoneReason, ServerFrame } from '../shared/protocol.js';
import { createEmitter } from './emitter.js';
import { createFrameLog } from './frame-log.js';
import { createRenderBatcher } from './render-batcher.js';
import { createStreamClock } from './stream-stats.js';
import { ToolCallHandle } from './tool-call-handle.js';
import { createClientToolRunner, type ClientToolRun, type SendToolOutput } from './client-tool-runner.js';
import { createTurnRecorder } from './turn-messages.js';
import type { ClientToolHandler, ChatResult, ChatStream, ChatStreamEvents, ChatStreamStatus, DecisionOptions, Fallback, StreamRef, ToolResult, TransportName } from './types.js';
import { utf8Length } from './utf8.js';

/** What a transport does for a stream it carries. */
export interface StreamController {
  cancel(): void;
  /** Resolves when the decision was sent and accepted as far as the transport can tell. */
  decide(callId: string, decision: 'approve' | 'deny', options?: DecisionOptions): Promise<void>;
  /** Cuts the connection as a network failure would; the transport then resumes as after any drop. */
  drop(): void;
  /** Sends a client tool's answer (protocol minor 8); resolves when the server took it (a resend: only over HTTP). */
  answer: SendToolOutput;
}

/** What a transport feeds into a stream. */
export interface StreamSink {
  readonly ended: boolean;
  readonly lastSeq: number;
  readonly streamId: string | undefined;
  /** The stream token from the `start` frame (or the `StreamRef` resumed). */
  readonly token: string | undefined;
  readonly reconnects: number;
  /** The last error frame or failure. */
  readonly error: TokenwireError | undefined;
  /** The transport now carrying the stream; after a cancel it is cancelled at once. */
  use(transport: TransportName, controller: StreamController): void;
  /** A decoded frame and its text on the wire (for `recentFrames()`). */
  frame(frame: ServerFrame, raw: string): void;
  bytes(count: number): void;
  /** The connection carrying the stream dropped; `reconnecting()` or `fail()` follows. */
  lost(): void;
  /** The transport re-attaches after a dropped connection. */
  reconnecting(): void;
  /**
   * The server took the resume (SSE: its 200; WebSocket: the `resume` sent on an open socket):
   * the stream is connected again even before a frame comes, as when it waits for a decision.
   */
  attached(): void;
  fallback(info: Fallback): void;
  /**
   * A local, final failure (HTTP error, lost connection): ends the stream with `error`.
   * Without an argument it ends with the last error frame (a stream the server refused).
   */
  fail(error?: TokenwireError): void;
}

export interface ChatStreamInit {
  transport: TransportName;
  batchMs: number;
  now?: () => number;
  /** A stream viewed again (`client.resume`): its id and token are known before any frame. */
  resumeOf?: Pick<StreamRef, 'streamId' | 'token' | 'lastSeq'>;
  /** The client's tools (`clientTools`), run on this stream's `tool_run` frames. */
  clientTools?: Readonly<Record<string, ClientToolHandler>> | undefined;
}

/** Shortest time the frames replayed after a reconnect are held back, to reach the UI in one commit. */
const MIN_REPLAY_HOLD_MS = 16;
/** Longest hold: a replay that takes longer reaches the UI in a few commits, never a frozen one. */
const MAX_REPLAY_HOLD_MS = 500;
/** Frames per ms above which frames still count as a replay (a live model streams far slower). */
const REPLAY_FRAMES_PER_MS = 1;

/**
 * The transport-neutral half of a chat: turns server frames into state, events and one
 * result, batches tokens for rendering, and drops frames a resume replays (seq ≤ last seen).
 * After every reconnect it reconciles with what the server replays: `change` is held for one
 * batch interval from the first frame after the drop, so a replay of thousands of frames
 * reaches a UI in one commit; a tool call the server closed meanwhile is no longer pending, and
 * a client tool's `tool_run` in the replay runs when it is released, unless its `tool_result` came too.
 */
export function createChatStream(init: ChatStreamInit): { stream: ChatStream; sink: StreamSink } {
  const now = init.now ?? (() => performance.now());
  const clock = createStreamClock(now);
  const startedAt = now();
  const log = createFrameLog();
  const events = createEmitter<ChatStreamEvents>();
  let transport = init.transport;
  let controller: StreamController | undefined;
  let streamId = init.resumeOf?.streamId;
  let token = init.resumeOf?.token;
  let status: ChatStreamStatus = 'connecting';
  let text = '';
  let reasoning = '';
  let lastSeq = init.resumeOf?.lastSeq ?? -1;
  let lastErrorKey = '';
  let error: TokenwireError | undefined;
  let fallback: Fallback | undefined;
  let ended = false;
  let cancelled = false;
  /** Between a drop and the first frame after it. */
  let disconnected = false;
  /** The next frame starts a replay (after a reconnect, or the first of `client.resume`). */
  let replayNext = init.resumeOf !== undefined;
  let holding: ReturnType<typeof setTimeout> | undefined;
  let heldChange = false;
  let holdStartedAt = 0;
  /** Frames received since the hold's last check. */
  let heldFrames = 0;
  const toolCalls: ToolCallHandle[] = [];
  const toolResults: ToolResult[] = [];
  // A refused answer is shown like an error frame, without ending the stream: its tool_result follows.
  const clientTools = createClientToolRunner(init.clientTools, (refused) => events.emit('error', refused));
  const answerVia = () => (controller as StreamController).answer;
  /**
   * `tool_run`s that came while a replay is held, by call id: a replay may bring the call's
   * `tool_result` too (another client answered it), and then the handler must not run again.
   */
  const heldRuns = new Map<string, ClientToolRun>();
  /** Every frame's part of the conversation, unbatched: `messages` is the whole turn at any time. */
  const turn = createTurnRecorder();
  let resolveResult!: (result: ChatResult) => void;
  const result = new Promise<ChatResult>((resolve) => (resolveResult = resolve));

  const changed = () => {
    if (holding !== undefined) heldChange = true;
    else events.emit('change', stream);
  };

  /** Batches one kind of streamed text for the screen: keeps each batch, then tells the listeners. */
  const textBatcher = (event: 'token' | 'reasoning', keep: (batch: string) => void) =>
    createRenderBatcher<string>({
      intervalMs: init.batchMs,
      now,
      onFlush(items) {
        const batch = items.join('');
        keep(batch);
        events.emit(event, { text: batch, tokens: items.length });
        changed();
      },
    });
  const batcher = textBatcher('token', (batch) => (text += batch));
  // Reasoning is batched like tokens, and always flushed before the text that follows it.
  const thinking = textBatcher('reasoning', (batch) => (reasoning += batch));
  const flush = () => {
    thinking.flush();
    batcher.flush();
  };

  const holdMs = Math.max(init.batchMs, MIN_REPLAY_HOLD_MS);
  /**
   * Holds `change` back while a replay arrives; one `change` when it is over: one batch
   * interval, longer (up to MAX_REPLAY_HOLD_MS) while frames still pour in as a replay does.
   */
  const holdReplay = () => {
    if (holding !== undefined) return;
    holdStartedAt = now();
    heldFrames = 0;
    holding = setTimeout(checkReplay, holdMs);
  };
  function checkReplay(): void {
    const pouring = heldFrames > holdMs * REPLAY_FRAMES_PER_MS;
    heldFrames = 0;
    if (pouring && !ended && now() - holdStartedAt + holdMs <= MAX_REPLAY_HOLD_MS) {
      holding = setTimeout(checkReplay, holdMs);
      return;
    }
    releaseReplay();
  }
  function releaseReplay(): void {
    if (holding === undefined) return;
    if (!ended) flush();
    clearTimeout(holding);
    holding = undefined;
    // What the replay left waiting is this client's to run now; an ended stream runs nothing.
    const runs = [...heldRuns.values()];
    heldRuns.clear();
    if (!ended) for (const run of runs) clientTools.run(run, answerVia);
    if (!heldChange) return;
    heldChange = false;
    events.emit('change', stream);
  }

  const pendingCall = () => (ended ? undefined : toolCalls.find((c) => c.open));
  /** The status while the stream runs, from what it knows now. */
  const liveStatus = (): ChatStreamStatus =>
    disconnected ? 'reconnecting' : streamId === undefined || lastSeq < 0 ? 'connecting' : pendingCall() ? 'awaiting_approval' : 'streaming';

  const settle = (reason: DoneReason, usage?: ChatResult['usage']) => {
    if (ended) return;
    flush();
    thinking.dispose();
    batcher.dispose();
    ended = true;
    clientTools.abortAll();
    clock.end();
    status = reason === 'cancelled' ? 'cancelled' : reason === 'error' ? 'error' : 'done';
    const outcome: ChatResult = { text, reason, transport, messages: turn.messages() };
    if (reasoning) outcome.reasoning = reasoning;
    if (usage) outcome.usage = usage;
    if (reason === 'error') outcome.error = error ?? new TokenwireError('internal');
    if (streamId !== undefined) outcome.streamId = streamId;
    resolveResult(outcome);
    events.emit('done', outcome);
    changed();
    releaseReplay();
  };

  async function decide(call: ToolCallHandle, decision: 'approve' | 'deny', options?: DecisionOptions): Promise<void> {
    if (call.status !== 'pending') throw new TokenwireError('already_decided');
    if (ended || !controller) throw new TokenwireError('unknown_call', 'The stream has ended.');
    call.status = decision === 'approve' ? 'approving' : 'denying';
    clock.decided(call.callId);
    changed();
    try {
      await controller.decide(call.callId, decision, options);
      if (call.open) call.status = decision === 'approve' ? 'approved' : 'denied';
    } catch (thrown) {
      if (call.open) call.status = 'pending';
      throw thrown;
    } finally {
      if (!ended) status = liveStatus();
      changed();
    }
  }

  const onFrame = (frame: ServerFrame) => {
    switch (frame.type) {
      case 'start':
        streamId = frame.streamId;
        token = frame.streamToken ?? frame.approvalToken ?? token;
        events.emit('start', { streamId: frame.streamId, model: frame.model, transport });
        return;
      case 'token':
        clock.token(utf8Length(frame.text), true);
        turn.token(frame.text);
        thinking.flush();
        batcher.push(frame.text);
        return;
      case 'reasoning':
        clock.token(utf8Length(frame.text), false);
        turn.reasoning(frame.text);
        batcher.flush();
        thinking.push(frame.text);
        return;
      case 'tool_call': {
        flush();
        turn.toolCall(frame);
        const call = new ToolCallHandle(frame, decide);
        toolCalls.push(call);
        clock.toolCall(call.status === 'pending');
        events.emit('tool_call', call);
        return;
      }
      case 'tool_run': {
        // The server waits for this client's answer; a call this stream never saw is not run (no name, no args).
        const call = toolCalls.find((c) => c.callId === frame.callId);
        if (call?.runsOn !== 'client') return;
        // A person may have edited the arguments before approving: those are the ones to run.
        const run: ClientToolRun = { callId: call.callId, name: call.name, args: frame.args ?? call.args };
        if (holding !== undefined) heldRuns.set(run.callId, run);
        else clientTools.run(run, answerVia);
        return;
      }
      case 'tool_result': {
        flush();
        const { callId, ok } = frame;
        heldRuns.delete(callId);
        clientTools.settle(callId);
        const shown: ToolResult = { callId, ok };
        if (frame.result !== undefined) shown.result = frame.result;
        if (frame.error) shown.error = frame.error;
        if (frame.edited) shown.edited = true;
        if (frame.args) shown.args = frame.args;
        if (frame.denial) shown.denial = frame.denial;
        toolResults.push(shown);
        turn.toolResult(frame);
        toolCalls.find((c) => c.callId === callId)?.settleWith(shown);
        clock.toolResult(callId);
        events.emit('tool_result', shown);
        return;
      }
      case 'error':
        flush();
        error = new TokenwireError(frame.code, frame.message);
        // An edit the tool's schema refused, over the WebSocket (no answer per frame there): the
        // call waits again. Only one call of a stream waits at a time.
        if (frame.code === 'invalid_arguments') for (const call of toolCalls) call.reopen();
        events.emit('error', error);
        return;
      case 'done':
        settle(frame.reason, frame.usage);
        return;
    }
  };

  const sink: StreamSink = {
    get ended() {
      return ended;
    },
    get lastSeq() {
      return lastSeq;
    },
    get streamId() {
      return streamId;
    },
    get token() {
      return token;
    },
    get reconnects() {
      return clock.reconnects;
    },
    get error() {
      return error;
    },
    use(name, next) {
      transport = name;
      controller = next;
      if (cancelled) next.cancel();
    },
    frame(frame, raw) {
      if (ended) return;
      if (frame.type === 'error') {
        // Error frames outside the log (a dropped slow reader) may repeat a seq: dedupe by content.
        const key = `${frame.seq}:${frame.code}`;
        if (key === lastErrorKey) return;
        lastErrorKey = key;
      } else {
        if (frame.seq <= lastSeq) return;
        lastSeq = frame.seq;
      }
      if (replayNext) {
        replayNext = false;
        holdReplay();
      }
      disconnected = false;
      heldFrames++;
      clock.frame();
      log.add({ seq: frame.seq, type: frame.type, raw, atMs: now() - startedAt });
      onFrame(frame);
      if (ended) return;
      status = liveStatus();
      // Tokens and reasoning tell the UI through their batches.
      if (frame.type !== 'token' && frame.type !== 'reasoning') changed();
    },
    bytes(count) {
      clock.bytes(count);
    },
    lost() {
      if (ended || disconnected) return;
      disconnected = true;
      replayNext = true;
      clock.lost();
      flush();
      status = liveStatus();
      events.emit('disconnect', { lastSeq });
      changed();
    },
    reconnecting() {
      if (ended) return;
      // A view the server dropped (a slow reader) is a drop too.
      if (!disconnected) sink.lost();
      clock.reconnect();
      events.emit('reconnect', { attempt: clock.reconnects, lastSeq });
      changed();
    },
    attached() {
      if (ended || !disconnected) return;
      disconnected = false;
      clientTools.resend(answerVia);
      status = liveStatus();
      changed();
    },
    fallback(info) {
      fallback = info;
      transport = info.to;
      events.emit('fallback', info);
      changed();
    },
    fail(failure) {
      if (ended) return;
      flush();
      if (failure) {
        error = failure;
        events.emit('error', failure);
      }
      settle('error');
    },
  };

  const stream: ChatStream = {
    get streamId() {
      return streamId;
    },
    get transport() {
      return transport;
    },
    get fallback() {
      return fallback;
    },
    get status() {
      return status;
    },
    get text() {
      return text;
    },
    get reasoning() {
      return reasoning;
    },
    get toolCalls() {
      return toolCalls;
    },
    get toolResults() {
      return toolResults;
    },
    get messages() {
      return turn.messages();
    },
    get pendingApproval() {
      return pendingCall();
    },
    get error() {
      return error;
    },
    get ref(): StreamRef | undefined {
      return streamId === undefined ? undefined : { streamId, token, lastSeq, transport };
    },
    stats: () => clock.snapshot(transport),
    recentFrames: () => log.list(),
    result,
    on: (event, listener) => events.on(event, listener),
    onToken: (listener) => events.on('token', listener),
    onReasoning: (listener) => events.on('reasoning', listener),
    dropConnection() {
      if (!ended) controller?.drop();
    },
    cancel() {
      if (ended) return;
      cancelled = true;
      controller?.cancel();
      settle('cancelled');
    },
  };
  return { stream, sink };
}
