import { z } from 'zod';
import { TokenwireError } from '../../shared/errors.js';
import type { ModelToolSpec } from '../models/provider.js';

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

/** Defines a tool; `needsApproval` defaults to true, so nothing runs unasked by accident. */
export function defineTool<S extends z.ZodType>(
  tool: Omit<Tool<z.infer<S>>, 'needsApproval' | 'parameters'> & { parameters: S; needsApproval?: boolean },
): Tool {
  return { ...tool, needsApproval: tool.needsApproval ?? true } as Tool;
}

export interface ToolRegistry {
  get(name: string): Tool | undefined;
  names(): string[];
  /** The tools a request asked for by name, as the model sees them; unknown names throw `unknown_tool`. */
  select(names: readonly string[]): { tools: Tool[]; specs: ModelToolSpec[] };
}

export function createToolRegistry(tools: Tool[]): ToolRegistry {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const specs = new Map(
    tools.map((t) => {
      const { $schema: _ignored, ...parameters } = z.toJSONSchema(t.parameters) as Record<string, unknown>;
      return [t.name, { name: t.name, description: t.description, parameters }];
    }),
  );
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
