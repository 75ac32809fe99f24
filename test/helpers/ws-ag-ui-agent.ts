import { AbstractAgent, EventType, type AgentConfig, type BaseEvent, type Event as AgUiEvent, type RunAgentInput } from '@ag-ui/client';
import { EventSchema } from '@ag-ui/core/schemas';
import { Observable } from 'rxjs';
import type { ChatRequest } from '../../shared/protocol.js';
import type { WsTestClient } from './ws-client.js';

/** One `{ streamId, seq, event }` message as it came, its event checked by @ag-ui/core's EventSchema. */
export interface ReceivedEvent {
  streamId: string;
  seq: number;
  event: AgUiEvent;
}

/**
 * An AG-UI agent (@ag-ui/client's AbstractAgent: its event verifier, its message state, its
 * interrupt checks) that runs over tokenwire's WebSocket with `format: "ag-ui"`. A run starts a
 * stream (or, with `resumeFrom`, resumes one); a run with `resume` entries answers the interrupt
 * with tokenwire's `approve` / `deny` frames and follows the stream's next run. Every event
 * message is parsed with EventSchema; one that fails errors the run.
 */
export class WsAgUiAgent extends AbstractAgent {
  streamId: string | undefined;
  streamToken: string | undefined;
  /** Every event message of this agent's stream, across runs, in order. */
  readonly received: ReceivedEvent[] = [];
  private runs = 0;

  constructor(
    private readonly socket: WsTestClient,
    private readonly chat: Pick<ChatRequest, 'tools' | 'options'> = {},
    config: AgentConfig & { resumeFrom?: { streamId: string; lastSeq: number; token?: string } } = {},
  ) {
    super(config);
    this.resumeFrom = config.resumeFrom;
  }

  private resumeFrom: { streamId: string; lastSeq: number; token?: string } | undefined;

  run(input: RunAgentInput): Observable<BaseEvent> {
    return new Observable<BaseEvent>((subscriber) => {
      const clientId = `run-${++this.runs}`;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        if (message.type === 'start' && message.id === clientId) {
          this.streamId = message.streamId as string;
          this.streamToken = message.streamToken as string | undefined;
          return;
        }
        if (message.type === 'error' && (message.streamId === clientId || message.streamId === this.streamId)) {
          subscriber.error(new Error(`tokenwire error ${String(message.code)}: ${String(message.message)}`));
          return;
        }
        if (!('event' in message) || message.streamId !== this.streamId) return;
        const parsed = EventSchema.safeParse(message.event);
        if (!parsed.success) {
          subscriber.error(new Error(`not an AG-UI event: ${JSON.stringify(message.event)}: ${parsed.error.message}`));
          return;
        }
        const event = parsed.data as AgUiEvent;
        this.received.push({ streamId: message.streamId as string, seq: message.seq as number, event });
        subscriber.next(event);
        if (event.type === EventType.RUN_FINISHED || event.type === EventType.RUN_ERROR) subscriber.complete();
      };
      this.socket.ws.on('message', onMessage);

      const ids = { format: 'ag-ui', threadId: input.threadId, runId: input.runId };
      if (input.resume?.length) {
        // AG-UI's answer to an interrupt becomes tokenwire's decision on the call it names.
        for (const entry of input.resume) {
          const approved = entry.status === 'resolved' && (entry.payload as { approved?: unknown } | undefined)?.approved === true;
          this.socket.send(approved ? { type: 'approve', callId: entry.interruptId } : { type: 'deny', callId: entry.interruptId });
        }
      } else if (this.resumeFrom) {
        this.streamId = this.resumeFrom.streamId;
        this.socket.send({ type: 'resume', ...this.resumeFrom, ...ids });
      } else {
        const messages = input.messages.flatMap((m) => (m.role === 'user' && typeof m.content === 'string' ? [{ role: 'user', content: m.content }] : []));
        this.socket.send({ type: 'start', id: clientId, messages, ...this.chat, ...ids });
      }
      return () => this.socket.ws.off('message', onMessage);
    });
  }
}
