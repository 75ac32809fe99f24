import { z } from 'zod';
import { TokenwireError } from '../../shared/errors.js';
import { checkKeys } from '../settings/option-keys.js';
import { defineTool, type Tool } from './registry.js';

/**
 * A tool the browser runs (protocol minor 8): the server validates the model's arguments,
 * asks for approval when needed, then waits for the client's `tool_output`. It sits in the
 * registry beside server tools; its `run` is never called (it refuses, should anything try).
 */
export interface ClientTool extends Tool {
  /** Marks the tool as the client's to run. */
  readonly runsOn: 'client';
  /** How long the client has to answer once its `tool_run` frame is out (ms); default the approval timeout. */
  readonly timeoutMs: number | undefined;
  /** The output's schema, when given: an output that fails it is refused (`invalid_request`) and the call keeps waiting. */
  readonly outputSchema: z.ZodType | undefined;
}

/** What `defineClientTool` takes: a tool without `run`. */
export interface ClientToolDefinition<S extends z.ZodType> {
  /** The name the model calls it by, as for `defineTool` (`^[a-zA-Z0-9_-]{1,64}$`). */
  name: string;
  /** What it does and when to use it: the model reads this. */
  description: string;
  /** The arguments' zod object schema: validated before the client sees them. */
  parameters: S;
  /**
   * Whether a person approves each call before the client runs it; default false: the app's own
   * code runs it in the user's browser, where the app can ask as it likes.
   */
  needsApproval?: boolean;
  /** Milliseconds the client has to answer after its `tool_run` frame (1 ms to 1 hour); default the approval timeout. */
  timeoutMs?: number;
  /**
   * A zod schema the output must match: one that fails is refused `invalid_request` (the call
   * keeps waiting for a good one), and the model is told the parsed value. A client's error is not checked.
   */
  outputSchema?: z.ZodType;
}

const refuseToRun = (): Promise<never> =>
  Promise.reject(new TokenwireError('internal', 'A client tool runs in the client; the server never runs it.'));

/**
 * Defines a tool the client runs (`createChatClient({ clientTools })`, the AI SDK's `onToolCall`,
 * an AG-UI frontend tool). Name, description and parameters are checked as `defineTool` checks them.
 * @throws TypeError for a bad name, description or parameters, a `timeoutMs` out of range, or an unknown key (named).
 */
export function defineClientTool<S extends z.ZodType>(tool: ClientToolDefinition<S>): ClientTool {
  if (typeof tool !== 'object' || tool === null) throw new TypeError('defineClientTool: give { name, description, parameters }');
  checkKeys('defineClientTool', tool, ['name', 'description', 'parameters', 'needsApproval', 'timeoutMs', 'outputSchema']);
  const { timeoutMs, needsApproval, outputSchema, ...rest } = tool;
  if (outputSchema !== undefined && typeof (outputSchema as { safeParse?: unknown }).safeParse !== 'function') {
    throw new TypeError(`defineClientTool ${String(tool.name)}: outputSchema must be a zod schema`);
  }
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 3_600_000)) {
    throw new TypeError(`defineClientTool ${String(tool.name)}: timeoutMs must be a whole number of milliseconds from 1 to 3600000`);
  }
  const checked = defineTool({ ...rest, needsApproval: needsApproval ?? false, run: refuseToRun });
  return { ...checked, runsOn: 'client', timeoutMs, outputSchema } as ClientTool;
}

/** Whether a registered tool is the client's to run. */
export const isClientTool = (tool: Tool): tool is ClientTool => (tool as Partial<ClientTool>).runsOn === 'client';
