import { TokenwireError } from '../shared/errors.js';
import type { DoneReason, ServerFrame, ServerFrameOf } from '../shared/protocol.js';
import { createEmitter } from './emitter.js';
import { createRenderBatcher } from './render-batcher.js';
import type {
  ChatResult,
  ChatStream,
  ChatStreamEvents,
  ChatStreamStatus,
  Fallback,
  StreamStats,
  ToolCall,
  ToolCallStatus,
  ToolResult,
  TransportName,
} from './types.js';

/** What a transport does for a stream it carries. */
export interface StreamController {
  cancel(): void;
  /** Resolves when the decision was sent and accepted as far as the transport can tell. */
  decide(callId: string, decision: 'approve' | 'deny', reason?: string): Promise<void>;
}

/** What a transport feeds into a stream. */
export interface StreamSink {
  readonly ended: boolean;
  readonly lastSeq: number;
  readonly streamId: string | undefined;
  readonly reconnects: number;
  /** The last error frame or failure. */
  readonly error: TokenwireError | undefined;
  /** The transport now carrying the stream; after a cancel it is cancelled at once. */
  use(transport: TransportName, controller: StreamController): void;
  frame(frame: ServerFrame): void;
  bytes(count: number): void;
  /** The transport re-attaches after a dropped connection. */
  reconnecting(): void;
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
}

class ToolCallHandle implements ToolCall {
  status: ToolCallStatus;
  readonly expiresAt: number | undefined;
  readonly callId: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly approval: 'required' | 'not_required';

  constructor(
    frame: ServerFrameOf<'tool_call'>,
    private readonly decide: (call: ToolCallHandle, decision: 'approve' | 'deny', reason?: string) => Promise<void>,
  ) {
    this.callId = frame.callId;
    this.name = frame.name;
    this.args = frame.args;
    this.approval = frame.approval;
    this.expiresAt = frame.expiresAt;
    this.status = frame.approval === 'required' ? 'pending' : 'not_required';
  }

  approve(): Promise<void> {
    return this.decide(this, 'approve');
  }

  deny(reason?: string): Promise<void> {
    return this.decide(this, 'deny', reason);
  }
}

/**
 * The transport-neutral half of a chat: turns server frames into state, events and one
 * result, batches tokens for rendering, and drops frames a resume replays (seq ≤ last seen).
 */
export function createChatStream(init: ChatStreamInit): { stream: ChatStream; sink: StreamSink } {
  const now = init.now ?? (() => performance.now());
  const startedAt = now();
  const events = createEmitter<ChatStreamEvents>();
  let transport = init.transport;
  let controller: StreamController | undefined;
  let streamId: string | undefined;
  let status: ChatStreamStatus = 'connecting';
  let text = '';
  let reasoning = '';
  let lastSeq = -1;
  let lastErrorKey = '';
  let error: TokenwireError | undefined;
  let fallback: Fallback | undefined;
  let ended = false;
  let cancelled = false;
  const toolCalls: ToolCallHandle[] = [];
  const toolResults: ToolResult[] = [];
  const counters = { tokens: 0, frames: 0, bytes: 0, reconnects: 0 };
  let firstTokenAt: number | undefined;
  let lastTokenAt: number | undefined;
  let endedAt: number | undefined;
  let resolveResult!: (result: ChatResult) => void;
  const result = new Promise<ChatResult>((resolve) => (resolveResult = resolve));

  const changed = () => events.emit('change', stream);

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

  const pendingCall = () => (ended ? undefined : toolCalls.find((c) => c.status === 'pending' || c.status === 'approving' || c.status === 'denying'));

  const settle = (reason: DoneReason, usage?: ChatResult['usage']) => {
    if (ended) return;
    flush();
    thinking.dispose();
    batcher.dispose();
    ended = true;
    endedAt = now();
    status = reason === 'cancelled' ? 'cancelled' : reason === 'error' ? 'error' : 'done';
    const outcome: ChatResult = { text, reason, transport };
    if (reasoning) outcome.reasoning = reasoning;
    if (usage) outcome.usage = usage;
    if (reason === 'error') outcome.error = error ?? new TokenwireError('internal');
    if (streamId !== undefined) outcome.streamId = streamId;
    resolveResult(outcome);
    events.emit('done', outcome);
    changed();
  };

  async function decide(call: ToolCallHandle, decision: 'approve' | 'deny', reason?: string): Promise<void> {
    if (call.status !== 'pending') throw new TokenwireError('already_decided');
    if (ended || !controller) throw new TokenwireError('unknown_call', 'The stream has ended.');
    call.status = decision === 'approve' ? 'approving' : 'denying';
    changed();
    try {
      await controller.decide(call.callId, decision, reason);
      call.status = decision === 'approve' ? 'approved' : 'denied';
    } catch (thrown) {
      call.status = 'pending';
      throw thrown;
    } finally {
      if (!ended) status = pendingCall() ? 'awaiting_approval' : 'streaming';
      changed();
    }
  }

  const onFrame = (frame: ServerFrame) => {
    switch (frame.type) {
      case 'start':
        streamId = frame.streamId;
        status = 'streaming';
        events.emit('start', { streamId: frame.streamId, model: frame.model, transport });
        changed();
        return;
      case 'token':
        lastTokenAt = now();
        firstTokenAt ??= lastTokenAt;
        counters.tokens++;
        thinking.flush();
        batcher.push(frame.text);
        return;
      case 'reasoning':
        batcher.flush();
        thinking.push(frame.text);
        return;
      case 'tool_call': {
        flush();
        const call = new ToolCallHandle(frame, decide);
        toolCalls.push(call);
        if (call.status === 'pending') status = 'awaiting_approval';
        events.emit('tool_call', call);
        changed();
        return;
      }
      case 'tool_result': {
        flush();
        const { callId, ok } = frame;
        const shown: ToolResult = { callId, ok };
        if (frame.result !== undefined) shown.result = frame.result;
        if (frame.error) shown.error = frame.error;
        toolResults.push(shown);
        status = pendingCall() ? 'awaiting_approval' : 'streaming';
        events.emit('tool_result', shown);
        changed();
        return;
      }
      case 'error':
        flush();
        error = new TokenwireError(frame.code, frame.message);
        events.emit('error', error);
        changed();
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
    get reconnects() {
      return counters.reconnects;
    },
    get error() {
      return error;
    },
    use(name, next) {
      transport = name;
      controller = next;
      if (cancelled) next.cancel();
    },
    frame(frame) {
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
      counters.frames++;
      onFrame(frame);
    },
    bytes(count) {
      counters.bytes += count;
    },
    reconnecting() {
      counters.reconnects++;
      events.emit('reconnect', { attempt: counters.reconnects, lastSeq });
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
    get pendingApproval() {
      return pendingCall();
    },
    get error() {
      return error;
    },
    stats(): StreamStats {
      const span = firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0;
      return {
        transport,
        firstTokenMs: firstTokenAt === undefined ? undefined : firstTokenAt - startedAt,
        ...counters,
        tokensPerSecond: span > 0 ? ((counters.tokens - 1) * 1000) / span : undefined,
        elapsedMs: (endedAt ?? now()) - startedAt,
      };
    },
    result,
    on: (event, listener) => events.on(event, listener),
    onToken: (listener) => events.on('token', listener),
    onReasoning: (listener) => events.on('reasoning', listener),
    cancel() {
      if (ended) return;
      cancelled = true;
      controller?.cancel();
      settle('cancelled');
    },
  };
  return { stream, sink };
}
