import type { Usage } from '../../shared/protocol.js';
import type { FinishReason, ModelEvent } from './provider.js';

/** What one streamed chunk says, read field by field: any field may be missing or of the wrong type. */
export interface ChunkReading {
  events: ModelEvent[];
  /** The upstream's `finish_reason`, as sent (a string), when the chunk has one. */
  finishReason?: string;
  usage?: Usage;
  /**
   * The field the chunk's reasoning came in, when the upstream needs that field back on the
   * assistant message inside a tool loop (`ECHOED_REASONING_FIELDS`).
   */
  echoReasoningAs?: EchoedReasoningField;
}

/**
 * Reasoning fields sent back on the assistant message that carried tool calls: DeepSeek's
 * thinking mode refuses the next request of a tool loop without its `reasoning_content` (400);
 * vLLM and llama.cpp accept the field. `reasoning` (OpenRouter, Ollama, Groq) is not sent back:
 * none of them asks for it, and a server that validates message fields strictly may refuse it.
 */
export const ECHOED_REASONING_FIELDS = ['reasoning_content'] as const;
/** A reasoning field in `ECHOED_REASONING_FIELDS`. */
export type EchoedReasoningField = (typeof ECHOED_REASONING_FIELDS)[number];

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;

/**
 * Usage as OpenAI sends it (`usage`, also on a chunk without `choices`) or Groq does
 * (`x_groq.usage`); reasoning tokens from `completion_tokens_details.reasoning_tokens`.
 */
function readUsage(chunk: Json): Usage | undefined {
  const raw = isRecord(chunk.usage) ? chunk.usage : isRecord(chunk.x_groq) && isRecord(chunk.x_groq.usage) ? chunk.x_groq.usage : undefined;
  if (!raw) return undefined;
  const prompt = count(raw.prompt_tokens);
  const completion = count(raw.completion_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const usage: Usage = {
    promptTokens: prompt ?? 0,
    completionTokens: completion ?? 0,
    totalTokens: count(raw.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
  };
  const reasoning = isRecord(raw.completion_tokens_details) ? count(raw.completion_tokens_details.reasoning_tokens) : undefined;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

/** `arguments` is JSON text by the spec; some servers send the object itself. */
function readArguments(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  return isRecord(value) ? JSON.stringify(value) : undefined;
}

function readToolCalls(value: unknown): ModelEvent[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((call) => {
    const fn = isRecord(call.function) ? call.function : {};
    const index = count(call.index);
    const id = str(call.id);
    const name = str(fn.name);
    const argumentsDelta = readArguments(fn.arguments);
    return {
      type: 'tool_call_delta',
      ...(index !== undefined ? { index } : {}),
      ...(id ? { id } : {}),
      ...(name ? { name } : {}),
      ...(argumentsDelta ? { argumentsDelta } : {}),
    };
  });
}

/**
 * Reads one `chat.completion.chunk` from any OpenAI-compatible server into model events.
 * Only the first choice counts (tokenwire asks for one); a choice without `index` is it.
 * Reasoning comes as `reasoning_content` (vLLM, DeepSeek, llama.cpp) or `reasoning`
 * (OpenRouter, Ollama, Groq); a refusal is text the user should see.
 */
export function readChunk(chunk: unknown): ChunkReading {
  const reading: ChunkReading = { events: [] };
  if (!isRecord(chunk)) return reading;
  const usage = readUsage(chunk);
  if (usage) reading.usage = usage;
  const choices = Array.isArray(chunk.choices) ? chunk.choices.filter(isRecord) : [];
  const choice = choices.find((c) => c.index === undefined || c.index === null || c.index === 0);
  if (!choice) return reading;
  // A final chunk from some servers carries `message` instead of `delta`.
  const delta = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : {};
  const echoed = str(delta.reasoning_content);
  const reasoning = echoed ?? str(delta.reasoning);
  if (reasoning) reading.events.push({ type: 'reasoning', text: reasoning });
  if (echoed) reading.echoReasoningAs = 'reasoning_content';
  const text = str(delta.content) ?? str(delta.refusal);
  if (text) reading.events.push({ type: 'text', text });
  reading.events.push(...readToolCalls(delta.tool_calls));
  const finish = str(choice.finish_reason);
  if (finish) reading.finishReason = finish;
  return reading;
}

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  // Synonyms some servers send for a natural end, a cut-off and a tool turn.
  eos: 'stop',
  eos_token: 'stop',
  end_turn: 'stop',
  stop_sequence: 'stop',
  length: 'length',
  max_tokens: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  tool_use: 'tool_calls',
  content_filter: 'content_filter',
  safety: 'content_filter',
};

/** The finish reason tokenwire reports for an upstream's `finish_reason`; undefined when it means none of them. */
export const toFinishReason = (raw: string): FinishReason | undefined => (Object.hasOwn(FINISH, raw) ? FINISH[raw] : undefined);
