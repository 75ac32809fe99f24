import { newCallId } from '../../shared/ids.js';
import { isJson } from '../../shared/json.js';
import type { ModelEvent, ModelToolCall } from '../models/provider.js';

type ToolCallDelta = Omit<Extract<ModelEvent, { type: 'tool_call_delta' }>, 'type'>;

/** Builds a turn's tool calls from their streamed pieces. */
export interface ToolCallAssembler {
  add(delta: ToolCallDelta): void;
  /** The calls in the order they began; a call the upstream gave no id gets one. */
  calls(): ModelToolCall[];
}

/**
 * Assembles tool calls from deltas of any OpenAI-compatible server, by kind rather than case
 * by case (issue 11): an id names its call wherever it comes; a new id at a used index is a
 * new call (Ollama sends parallel calls all at index 0); a piece with neither index nor id
 * continues the latest call (Gemini omits the index) unless that call is already whole and
 * the piece starts another by naming a tool; a name or whole arguments sent again are not
 * appended twice.
 */
export function createToolCallAssembler(): ToolCallAssembler {
  return new Assembler();
}

/**
 * A class (issue 14): every model turn makes one, and most turns never see a tool call, so a
 * parked stream's assembler is an empty object whose methods live on the prototype, and its
 * maps are made by the first delta.
 */
class Assembler implements ToolCallAssembler {
  private readonly list: ModelToolCall[] = [];
  private byIndex: Map<number, ModelToolCall> | undefined;
  private byId: Map<string, ModelToolCall> | undefined;

  private begin(delta: ToolCallDelta): ModelToolCall {
    const call = { id: delta.id ?? '', name: '', arguments: '' };
    this.list.push(call);
    return call;
  }

  private target(delta: ToolCallDelta): ModelToolCall {
    const named = delta.id !== undefined ? this.byId?.get(delta.id) : undefined;
    if (named) return named;
    const atIndex = delta.index !== undefined ? this.byIndex?.get(delta.index) : undefined;
    if (atIndex) return delta.id !== undefined && atIndex.id !== '' && atIndex.id !== delta.id ? this.begin(delta) : atIndex;
    if (delta.index !== undefined || delta.id !== undefined) return this.begin(delta);
    const latest = this.list.at(-1);
    const startsAnother = latest !== undefined && delta.name !== undefined && latest.name !== '' && isJson(latest.arguments);
    return latest && !startsAnother ? latest : this.begin(delta);
  }

  add(delta: ToolCallDelta): void {
    const call = this.target(delta);
    if (delta.index !== undefined) (this.byIndex ??= new Map()).set(delta.index, call);
    if (delta.id !== undefined && call.id === '') call.id = delta.id;
    if (call.id !== '') (this.byId ??= new Map()).set(call.id, call);
    if (delta.name !== undefined && delta.name !== call.name) call.name += delta.name;
    const args = delta.argumentsDelta;
    if (args !== undefined && !(args === call.arguments && isJson(args))) call.arguments += args;
  }

  calls(): ModelToolCall[] {
    return this.list.map((call) => (call.id ? { ...call } : { ...call, id: newCallId() }));
  }
}
