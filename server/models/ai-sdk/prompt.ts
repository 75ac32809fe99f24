import type {
  LanguageModelV4FunctionTool,
  LanguageModelV4Message,
  LanguageModelV4Prompt,
  LanguageModelV4ToolResultOutput,
  LanguageModelV4ToolResultPart,
} from '@ai-sdk/provider';
import { parseJson } from '../../../shared/json.js';
import type { ModelMessage, ModelToolSpec } from '../provider.js';
import { readTurnMetadata } from './provider-data.js';

type AssistantPart = Extract<LanguageModelV4Message, { role: 'assistant' }>['content'][number];

/**
 * A tool call's input as the prompt types it (a JSON value). Arguments that are not JSON (the
 * engine answered them `invalid_arguments`) go as `{}`: Anthropic refuses a tool_use whose
 * input is not an object, and the tool result already tells the model what was wrong.
 */
const inputOf = (text: string): unknown => {
  const json = parseJson(text);
  return json.ok ? json.value : {};
};

/**
 * The engine's tool message is the outcome as JSON (`{ ok, result }` or `{ ok: false, error }`):
 * a failure goes as `error-json`, so providers that mark failed results (Anthropic's
 * `is_error`) do; text that is not JSON (a client's own tool message) goes as text.
 */
function outputOf(content: string): LanguageModelV4ToolResultOutput {
  const json = parseJson(content);
  if (!json.ok || json.value === null || json.value === undefined) return { type: 'text', value: content };
  const failed = typeof json.value === 'object' && (json.value as { ok?: unknown }).ok === false;
  return { type: failed ? 'error-json' : 'json', value: json.value as never };
}

/**
 * An assistant message as parts: its reasoning (with the providerOptions its parts streamed,
 * e.g. Anthropic's thinking signature), its text, then its tool calls, each with what it
 * carried. An assistant message with none of them is left out.
 */
function assistantParts(message: Extract<ModelMessage, { role: 'assistant' }>): AssistantPart[] {
  const meta = readTurnMetadata(message.providerData);
  const parts: AssistantPart[] = [];
  if (meta.reasoning) for (const part of meta.reasoning) parts.push({ type: 'reasoning', ...part });
  else if (message.reasoning) parts.push({ type: 'reasoning', text: message.reasoning });
  if (message.content) parts.push({ type: 'text', text: message.content, ...(meta.text ? { providerOptions: meta.text } : {}) });
  for (const call of message.toolCalls ?? []) {
    const providerOptions = meta.toolCalls?.[call.id];
    parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: inputOf(call.arguments), ...(providerOptions ? { providerOptions } : {}) });
  }
  return parts;
}

/**
 * tokenwire's conversation as an AI SDK prompt (LanguageModelV4Prompt, which V3 models read
 * alike for these parts): consecutive tool messages become one `tool` message, as the AI SDK
 * itself builds it.
 */
export function toPrompt(messages: readonly ModelMessage[]): LanguageModelV4Prompt {
  const prompt: LanguageModelV4Prompt = [];
  let results: LanguageModelV4ToolResultPart[] | undefined;
  for (const message of messages) {
    if (message.role !== 'tool') results = undefined;
    switch (message.role) {
      case 'system':
        prompt.push({ role: 'system', content: message.content });
        break;
      case 'user':
        prompt.push({ role: 'user', content: [{ type: 'text', text: message.content }] });
        break;
      case 'assistant': {
        const content = assistantParts(message);
        if (content.length) prompt.push({ role: 'assistant', content });
        break;
      }
      case 'tool': {
        const part: LanguageModelV4ToolResultPart = { type: 'tool-result', toolCallId: message.toolCallId, toolName: message.toolName, output: outputOf(message.content) };
        if (results) results.push(part);
        else prompt.push({ role: 'tool', content: (results = [part]) });
        break;
      }
    }
  }
  return prompt;
}

/** The offered tools as AI SDK function tools: the JSON Schema goes as the input schema. */
export const toTools = (specs: readonly ModelToolSpec[]): LanguageModelV4FunctionTool[] =>
  specs.map((spec) => ({ type: 'function', name: spec.name, description: spec.description, inputSchema: spec.parameters }));
