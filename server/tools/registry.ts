import { z } from 'zod';
import { TokenwireError } from '../../shared/errors.js';
import type { ModelToolSpec } from '../models/provider.js';
import { checkKeys } from '../settings/option-keys.js';

/** An error a tool throws on purpose: its code and message are safe to show the model and the user. */
export class ToolError extends Error {
  /** Your stable code, sent as the `tool_result` frame's `error.code` (the message as `error.message`). */
  readonly code: string;

  /**
   * @param code - A stable code of your own, e.g. `card_declined`.
   * @param message - What the model and the user are told; never put secrets or internals here.
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ToolError';
    this.code = code;
  }
}

/** A tool the model may call: its parameters are a zod schema, validated before anyone sees them. */
export interface Tool<Args = unknown> {
  /** The name the model calls it by and a chat names it by (`tools: ['get_weather']`); unique among the tools. */
  name: string;
  /** What it does and when to use it: the model reads this to decide whether to call it. */
  description: string;
  /**
   * The arguments' schema: offered to the model as JSON Schema, and checked on every call
   * (arguments that fail it are answered `invalid_arguments` and never shown for approval or run).
   */
  parameters: z.ZodType<Args>;
  /** Whether a person must approve each call before it runs. */
  needsApproval: boolean;
  /**
   * Runs the call with its validated, frozen arguments and returns a JSON-serialisable result
   * for the model. `signal` aborts when the stream is cancelled or `timeouts.toolTimeoutMs`
   * passes (`tool_timeout`). Throw a `ToolError` for a failure the model and user may see; any
   * other throw becomes `tool_failed` with a generic message.
   */
  run(args: Args, context: { signal: AbortSignal }): Promise<unknown>;
}

/** A tool's name as every model API accepts it (OpenAI's function names: `^[a-zA-Z0-9_-]{1,64}$`), and a chat request may name. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Defines a tool; `needsApproval` defaults to true, so nothing runs unasked by accident.
 * @throws TypeError for a name models refuse (`^[a-zA-Z0-9_-]{1,64}$`), a missing description or
 * `run`, parameters that are no zod object schema, or an unknown key (named).
 */
export function defineTool<S extends z.ZodType>(
  tool: Omit<Tool<z.infer<S>>, 'needsApproval' | 'parameters'> & { parameters: S; needsApproval?: boolean },
): Tool {
  if (typeof tool !== 'object' || tool === null) throw new TypeError('defineTool: give { name, description, parameters, run }');
  checkKeys('defineTool', tool, ['name', 'description', 'parameters', 'needsApproval', 'run']);
  const name = typeof tool.name === 'string' ? tool.name : '';
  if (!TOOL_NAME.test(name)) throw new TypeError(`defineTool: name ${JSON.stringify(tool.name)} must be 1-64 letters, digits, _ or - (the names model APIs accept)`);
  if (typeof tool.description !== 'string') throw new TypeError(`defineTool ${name}: description must be a string`);
  if (typeof tool.run !== 'function') throw new TypeError(`defineTool ${name}: run must be a function`);
  if (tool.needsApproval !== undefined && typeof tool.needsApproval !== 'boolean') throw new TypeError(`defineTool ${name}: needsApproval must be a boolean`);
  parametersSchema(name, tool.parameters);
  return { ...tool, needsApproval: tool.needsApproval ?? true } as Tool;
}

/** The JSON Schema of a tool's parameters; a TypeError unless they are a zod object schema (model APIs take objects). */
function parametersSchema(name: string, parameters: unknown): Record<string, unknown> {
  let schema: Record<string, unknown>;
  try {
    schema = z.toJSONSchema(parameters as z.ZodType) as Record<string, unknown>;
  } catch (error) {
    throw new TypeError(`tool ${name}: parameters must be a zod 4 schema (${error instanceof Error ? error.message : String(error)})`);
  }
  if (schema.type !== 'object') throw new TypeError(`tool ${name}: parameters must be a zod object schema (z.object({ … })): model APIs take an object of arguments`);
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

export interface ToolRegistry {
  get(name: string): Tool | undefined;
  names(): string[];
  /** The tools a request asked for by name, as the model sees them; unknown names throw `unknown_tool`. */
  select(names: readonly string[]): { tools: Tool[]; specs: ModelToolSpec[] };
}

/**
 * The tools of one instance by name.
 * @throws TypeError for two tools of one name (the second would silently win) or parameters that are no zod object schema.
 */
export function createToolRegistry(tools: Tool[]): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new TypeError(`tools: two tools are named ${JSON.stringify(tool.name)}; names must be unique`);
    byName.set(tool.name, tool);
  }
  const specs = new Map(tools.map((t) => [t.name, { name: t.name, description: t.description, parameters: parametersSchema(t.name, t.parameters) }]));
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
    select(names) {
      const unknown = names.filter((n) => !byName.has(n));
      if (unknown.length) {
        throw new TokenwireError(
          'unknown_tool',
          `Unknown tool: ${unknown.join(', ')}. Known tools: ${[...byName.keys()].join(', ')}.`,
        );
      }
      const unique = [...new Set(names)];
      return {
        tools: unique.map((n) => byName.get(n) as Tool),
        specs: unique.map((n) => specs.get(n) as ModelToolSpec),
      };
    },
  };
}
