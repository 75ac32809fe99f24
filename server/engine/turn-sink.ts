import { TokenwireError } from '../../shared/errors.js';
import type { Usage } from '../../shared/protocol.js';
import type { FinishReason, ModelEvent, ModelSink, ModelToolCall, ProviderData } from '../models/provider.js';
import type { Stream } from '../streams/hub.js';
import { createToolCallAssembler, type ToolCallAssembler } from './tool-call-assembler.js';

/** One model turn as it ended: its text, tool calls, finish reason and usage, and what goes back with its tool calls. */
export interface Turn {
  text: string;
  toolCalls: ModelToolCall[];
  finish: FinishReason;
  usage?: Usage | undefined;
  reasoning?: string;
  providerData?: ProviderData;
}

/** Tokens of a turn's text joined at a time (see `TurnSink.text`). */
const TEXT_CHUNK = 256;

/**
 * One model turn's sink: streams its text as token frames and assembles its tool calls from
 * deltas. A class: a stream parked before its first token holds this one object
 * (methods on the prototype), not a suspended turn function with its closures and promises.
 */
export class TurnSink implements ModelSink {
  /** Text tokens pushed so far. */
  tokens = 0;
  // The turn's text, for the assistant message of a tool round. `text += token` kept a cons
  // string per token alive for the whole turn (scavenge work): tokens wait in an
  // array and are joined into one flat string every TEXT_CHUNK of them.
  private joined = '';
  private pending: string[] | undefined = undefined;
  private calls: ToolCallAssembler | undefined = undefined;
  private finish: Extract<ModelEvent, { type: 'finish' }> | undefined = undefined;
  /** The turn's reasoning and provider data: they go back on the assistant message of a tool round. */
  private reasoning: string[] | undefined = undefined;
  private providerData: ProviderData | undefined = undefined;

  constructor(private readonly stream: Stream) {}

  text(token: string): void {
    this.tokens++;
    const pending = (this.pending ??= []);
    if (pending.push(token) >= TEXT_CHUNK) {
      this.joined += pending.join('');
      pending.length = 0;
    }
    this.stream.appendToken(token);
  }

  event(event: Exclude<ModelEvent, { type: 'text' }>): void {
    if (event.type === 'reasoning') {
      this.stream.append({ type: 'reasoning', text: event.text });
      (this.reasoning ??= []).push(event.text);
    } else if (event.type === 'tool_call_delta') (this.calls ??= createToolCallAssembler()).add(event);
    else if (event.type === 'provider_data') this.providerData = { ...this.providerData, ...event.data };
    else this.finish = event;
  }

  /** The turn's text and reasoning so far: a turn cut short (an abort, a failure) still said them. */
  said(): { text: string; reasoning: string | undefined } {
    return { text: this.textSoFar(), reasoning: this.reasoning?.join('') };
  }

  private textSoFar(): string {
    return this.pending ? this.joined + this.pending.join('') : this.joined;
  }

  /** The turn as it ended; a provider must say how the answer ended, one that did not is never reported as a stop. */
  turn(): Turn {
    if (!this.finish) throw new TokenwireError('upstream_error', 'The model ended its answer without saying why.');
    return {
      text: this.textSoFar(),
      toolCalls: this.calls?.calls() ?? [],
      finish: this.finish.reason,
      usage: this.finish.usage,
      ...(this.reasoning ? { reasoning: this.reasoning.join('') } : {}),
      ...(this.providerData ? { providerData: this.providerData } : {}),
    };
  }
}
