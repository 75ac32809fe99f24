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
 * by case: an id names its call wherever it comes; a new id at a used index is a
 * new call (Ollama sends parallel calls all at index 0); a piece with neither index nor id
 * continues the latest call (Gemini omits the index) unless that call is already whole and
 * the piece starts another by naming a tool; a name sent again is not appended twice, nor are
 * whole arguments sent again (see `foldRepeat`).
 */
export function createToolCallAssembler(): ToolCallAssembler {
  return new Assembler();
}

/**
 * A class: every model turn makes one, and most turns never see a tool call, so a
 * parked stream's assembler is an empty object whose methods live on the prototype, and its
 * maps are made by the first delta.
 */
class Assembler implements ToolCallAssembler {
  private readonly list: CallParts[] = [];
  private byIndex: Map<number, CallParts> | undefined;
  private byId: Map<string, CallParts> | undefined;

  private begin(delta: ToolCallDelta): CallParts {
    const call = { id: delta.id ?? '', name: '', arguments: '', folded: '' };
    this.list.push(call);
    return call;
  }

  private target(delta: ToolCallDelta): CallParts {
    const named = delta.id !== undefined ? this.byId?.get(delta.id) : undefined;
    if (named) return named;
    const atIndex = delta.index !== undefined ? this.byIndex?.get(delta.index) : undefined;
    if (atIndex) return delta.id !== undefined && atIndex.id !== '' && atIndex.id !== delta.id ? this.begin(delta) : atIndex;
    if (delta.index !== undefined || delta.id !== undefined) return this.begin(delta);
    const latest = this.list.at(-1);
    const startsAnother = latest !== undefined && delta.name !== undefined && latest.name !== '' && isJson(argumentsOf(latest));
    return latest && !startsAnother ? latest : this.begin(delta);
  }

  add(delta: ToolCallDelta): void {
    const call = this.target(delta);
    if (delta.index !== undefined) (this.byIndex ??= new Map()).set(delta.index, call);
    if (delta.id !== undefined && call.id === '') call.id = delta.id;
    if (call.id !== '') (this.byId ??= new Map()).set(call.id, call);
    if (delta.name !== undefined && delta.name !== call.name) call.name += delta.name;
    const piece = delta.argumentsDelta;
    if (piece === undefined) return;
    call.folded = foldRepeat(call.folded, piece);
    call.arguments += piece;
  }

  calls(): ModelToolCall[] {
    return this.list.map((call) => ({ id: call.id || newCallId(), name: call.name, arguments: argumentsOf(call) }));
  }
}

/** A call being assembled: `arguments` is every piece as sent, `folded` the same with repeats folded (`foldRepeat`). */
interface CallParts extends ModelToolCall {
  folded: string;
}

/**
 * A call's arguments: the pieces as sent when they make JSON (a piece that looked like a
 * repeat may have been a nested object after all), else with repeats folded when that does.
 */
const argumentsOf = (call: CallParts): string => (call.arguments === call.folded || isJson(call.arguments) || !isJson(call.folded) ? call.arguments : call.folded);

/**
 * The arguments so far after one more piece, with a repeat folded: some servers send the whole
 * arguments again in a later chunk, after the pieces that built them (vLLM's tool parsers
 * flush it at the end of the stream). A piece that is a complete JSON text and begins with
 * what came so far, whitespace aside, is that repeat (the same arguments, or them and the
 * rest): it replaces them. Anything else is appended.
 */
export function foldRepeat(sofar: string, piece: string): string {
  // Most pieces are a few characters that cannot begin the arguments again: no parse for them.
  const head = sofar.trimStart();
  if (head === '' || piece.trimStart()[0] !== head[0] || !isJson(piece)) return sofar + piece;
  return withoutJsonWhitespace(piece).startsWith(withoutJsonWhitespace(head)) ? piece : sofar + piece;
}

/** JSON text without the whitespace between its tokens (RFC 8259 §2); strings are kept as written. */
function withoutJsonWhitespace(text: string): string {
  let out = '';
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}
