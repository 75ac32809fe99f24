import { parseJson } from '../../shared/json.js';
import { LIMITS } from '../../shared/protocol.js';
import type { Tool, ToolCallInfo } from '../tools/registry.js';
import { checkArguments } from '../tools/tool-schema.js';
import { canonicalSha256Of } from './approval-record.js';
import type { Edit } from './approvals.js';

// A call's arguments and what the tool's own functions say about them, before anyone decides:
// bound (validated, frozen, hashed), whether they need a person, and the card's data.

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Validated, frozen arguments and their digest; `why` they cannot be (schema, not an object, not canonical JSON). */
export async function bind(tool: Tool, value: unknown): Promise<Edit | { why: string }> {
  const checked = await checkArguments(tool.parameters, value);
  if (!checked.ok) return { why: checked.why };
  // Model APIs and the `tool_call` frame take an object of arguments.
  if (!isRecord(checked.value)) return { why: 'they are not an object' };
  const args = deepFreeze(checked.value);
  const argsSha256 = canonicalSha256Of(args);
  return argsSha256 instanceof Error ? { why: argsSha256.message } : { args, argsSha256 };
}

/** The tool's `needsApproval` for this call; an Error when its function threw. */
export async function needsApprovalOf(tool: Tool, args: unknown, info: ToolCallInfo): Promise<boolean | Error> {
  if (typeof tool.needsApproval === 'boolean') return tool.needsApproval;
  try {
    return (await tool.needsApproval(args, info)) !== false;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The card's data from `approval.display`, bounded as JSON text; an Error when it threw or is too large or no JSON. */
export async function displayOf(tool: Tool, args: unknown, info: ToolCallInfo): Promise<{ display?: unknown } | Error> {
  const display = tool.approval?.display;
  if (!display) return {};
  try {
    const value: unknown = await display.call(tool.approval, args, info);
    const json = JSON.stringify(value);
    if (json === undefined) return new Error('approval.display returned no JSON value');
    if (json.length > LIMITS.displayChars) return new Error(`approval.display returned ${json.length} characters of JSON, over ${LIMITS.displayChars}`);
    return { display: JSON.parse(json) as unknown };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The model's argument text as JSON; an empty text is no arguments. */
export const parseArguments = (text: string): { ok: true; value: unknown } | { ok: false } => parseJson(text === '' ? '{}' : text);
