import { TokenwireError } from '../../shared/errors.js';
import type { ModelToolSpec } from '../models/provider.js';
import { checkKeys } from '../settings/option-keys.js';
import { fromJsonSchema, isStandardSchema, parametersJsonSchema, type JsonSchemaObject, type StandardSchemaV1 } from './tool-schema.js';

export type { JsonSchemaObject, StandardResult, StandardSchemaV1 } from './tool-schema.js';

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

/** Which call a tool function is asked about: known before anyone decides. */
export interface ToolCallInfo {
  /** The authenticated subject that started the chat; undefined for anonymous use. */
  readonly subject: string | undefined;
  /** The stream the call belongs to (`streamId` of its frames). */
  readonly streamId: string;
  /** The call's id: the `callId` of its `tool_call` frame, decisions and audit record. */
  readonly callId: string;
}

/** How a call was approved, as `run` sees it; absent when the call needed no approval. */
export interface ToolApprovalInfo {
  /** The subject that approved; undefined when anonymous (a stream token) decided. */
  readonly by?: string | undefined;
  /** True when the person changed the arguments: `run` gets the edited ones (validated again). */
  readonly edited: boolean;
  /** The reason the person gave with the approval, if any (at most 500 characters). */
  readonly reason?: string | undefined;
}

/** What `run` knows about its call: the call, a signal and, after an approval, who approved it and how. */
export interface ToolRunContext extends ToolCallInfo {
  /** Aborts when the stream is cancelled or the run's timeout passes (`tool_timeout`). */
  readonly signal: AbortSignal;
  /** Who approved and how; undefined when the call needed no approval. */
  readonly approval?: ToolApprovalInfo | undefined;
}

/** Who asks to decide a call, as `approval.authorize` sees them. */
export interface ToolDecider {
  /** The deciding request's authenticated subject; undefined when anonymous. */
  readonly subject: string | undefined;
  /** The way the decision came: the WebSocket `approve`/`deny` frame, or `POST /api/approvals/:callId`. */
  readonly transport: 'ws' | 'http';
  /** What the default rule says: the caller controls the stream (its subject, socket or stream token). */
  readonly owns: boolean;
}

/** Per-tool approval settings. */
export interface ToolApproval<Args = unknown> {
  /** How long a person has to decide, in ms (1 to 2^31-1); default `timeouts.approvalTimeoutMs`. */
  timeoutMs?: number | undefined;
  /**
   * App data for the approval card, sent as the `tool_call` frame's `display` (any JSON, at most
   * `LIMITS.displayChars` characters written); may return a promise. A throw or rejection, or a
   * value too large or not JSON, fails the call with `display_failed`: it is never shown or run.
   */
  display?(args: Args, context: ToolCallInfo): unknown;
  /**
   * Who may decide this call; default `decider.owns` (the stream's own user, socket or token).
   * Called for every decision on the call, on the instance that runs the stream; a throw or a
   * rejection is `false`. A refused decider gets `forbidden` and the call stays pending.
   */
  authorize?(decider: ToolDecider, context: ToolCallInfo & { readonly args: Args }): boolean | Promise<boolean>;
}

/** Whether a call needs a person's approval: fixed, or decided per call from its validated arguments. */
export type NeedsApproval<Args> = boolean | ((args: Args, context: ToolCallInfo) => boolean | Promise<boolean>);

/** A tool the model may call: its parameters are validated before anyone sees them. */
export interface Tool<Args = unknown> {
  /** The name the model calls it by and a chat names it by (`tools: ['get_weather']`); unique among the tools. */
  name: string;
  /** What it does and when to use it: the model reads this to decide whether to call it. */
  description: string;
  /**
   * The arguments' schema, any Standard Schema (https://standardschema.dev): checked on every call
   * and every edit (arguments that fail it are `invalid_arguments`, never shown or run).
   */
  parameters: StandardSchemaV1<unknown, Args>;
  /** The JSON Schema offered to the model, when `parameters` offers none of its own. */
  jsonSchema?: JsonSchemaObject | undefined;
  /**
   * Whether a person must approve the call before it runs. A function gets the validated
   * arguments and the call (anything but `false` asks); one that throws or rejects fails the
   * call with `approval_check_failed` (never run).
   */
  needsApproval: NeedsApproval<Args>;
  /** How long `run` may take, in ms (1 to 2^31-1); default `timeouts.toolTimeoutMs`. */
  timeoutMs?: number | undefined;
  /** Approval settings: its timeout, the card's data, who may decide. */
  approval?: ToolApproval<Args> | undefined;
  /**
   * Runs the call with its validated, frozen arguments (the edited ones when a person changed
   * them) and returns a JSON-serialisable result for the model. `context.signal` aborts when the
   * stream is cancelled or the timeout passes (`tool_timeout`). Throw a `ToolError` for a
   * failure the model and user may see; any other throw becomes `tool_failed` with a generic message.
   */
  run(args: Args, context: ToolRunContext): Promise<unknown>;
}

/** The arguments a schema gives `run`: its output type, or an object for a plain JSON Schema. */
export type ToolArgs<S> = S extends StandardSchemaV1<unknown, infer Output> ? Output : Record<string, unknown>;

/** What `defineTool` takes: a `Tool` whose parameters may be a plain JSON Schema, and whose `needsApproval` may be left out. */
export interface ToolDefinition<S extends StandardSchemaV1 | JsonSchemaObject> extends Omit<Tool<ToolArgs<S>>, 'parameters' | 'needsApproval'> {
  /** A Standard Schema (zod 3.25+/4, valibot, arktype, …) or a plain JSON Schema object (validated by zod's `fromJSONSchema`). */
  parameters: S;
  /** Default true: nothing runs unasked by accident. */
  needsApproval?: NeedsApproval<ToolArgs<S>> | undefined;
}

/** A tool's name as every model API accepts it (OpenAI's function names: `^[a-zA-Z0-9_-]{1,64}$`), and a chat request may name. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Node's timers overflow past 2^31-1 ms (about 24.8 days) and fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const isTimeout = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TIMER_MS);

/**
 * Defines a tool; `needsApproval` defaults to true, so nothing runs unasked by accident.
 * A plain JSON Schema as `parameters` is validated with zod's `fromJSONSchema` and offered to the model as given.
 * @throws TypeError for a name models refuse (`^[a-zA-Z0-9_-]{1,64}$`), a missing description or
 * `run`, parameters that are neither a Standard Schema nor an object JSON Schema, a schema with
 * no JSON Schema and no `jsonSchema`, a timeout that is no whole number of ms from 1 to 2^31-1,
 * or an unknown key (named).
 */
export function defineTool<S extends StandardSchemaV1 | JsonSchemaObject>(
  tool: ToolDefinition<S>,
): Tool & { parameters: S extends StandardSchemaV1 ? S : StandardSchemaV1 } {
  if (typeof tool !== 'object' || tool === null) throw new TypeError('defineTool: give { name, description, parameters, run }');
  checkKeys('defineTool', tool, ['name', 'description', 'parameters', 'jsonSchema', 'needsApproval', 'timeoutMs', 'approval', 'run']);
  const name = typeof tool.name === 'string' ? tool.name : '';
  if (!TOOL_NAME.test(name)) throw new TypeError(`defineTool: name ${JSON.stringify(tool.name)} must be 1-64 letters, digits, _ or - (the names model APIs accept)`);
  if (typeof tool.description !== 'string') throw new TypeError(`defineTool ${name}: description must be a string`);
  if (typeof tool.run !== 'function') throw new TypeError(`defineTool ${name}: run must be a function`);
  if (tool.needsApproval !== undefined && typeof tool.needsApproval !== 'boolean' && typeof tool.needsApproval !== 'function') {
    throw new TypeError(`defineTool ${name}: needsApproval must be a boolean or a function (args, context) => boolean`);
  }
  if (!isTimeout(tool.timeoutMs)) throw new TypeError(`defineTool ${name}: timeoutMs must be a whole number of ms from 1 to ${MAX_TIMER_MS}`);
  if (tool.jsonSchema !== undefined && (typeof tool.jsonSchema !== 'object' || tool.jsonSchema === null)) throw new TypeError(`defineTool ${name}: jsonSchema must be a JSON Schema object`);
  checkApproval(name, tool.approval);
  let parameters: StandardSchemaV1;
  let jsonSchema = tool.jsonSchema;
  if (isStandardSchema(tool.parameters)) parameters = tool.parameters;
  else if (typeof tool.parameters === 'object' && tool.parameters !== null) {
    parameters = fromJsonSchema(name, tool.parameters);
    jsonSchema ??= tool.parameters;
  } else throw new TypeError(`defineTool ${name}: parameters must be a Standard Schema (zod, valibot, arktype, …) or a JSON Schema object`);
  parametersJsonSchema(name, parameters, jsonSchema);
  return { ...tool, parameters, ...(jsonSchema ? { jsonSchema } : {}), needsApproval: tool.needsApproval ?? true } as Tool & { parameters: S extends StandardSchemaV1 ? S : StandardSchemaV1 };
}

function checkApproval(name: string, approval: unknown): void {
  if (approval === undefined) return;
  if (typeof approval !== 'object' || approval === null) throw new TypeError(`defineTool ${name}: approval must be { timeoutMs?, display?, authorize? }`);
  checkKeys(`defineTool ${name}: approval`, approval, ['timeoutMs', 'display', 'authorize']);
  const { timeoutMs, display, authorize } = approval as ToolApproval;
  if (!isTimeout(timeoutMs)) throw new TypeError(`defineTool ${name}: approval.timeoutMs must be a whole number of ms from 1 to ${MAX_TIMER_MS}`);
  if (display !== undefined && typeof display !== 'function') throw new TypeError(`defineTool ${name}: approval.display must be a function (args, context) => JSON`);
  if (authorize !== undefined && typeof authorize !== 'function') throw new TypeError(`defineTool ${name}: approval.authorize must be a function (decider, context) => boolean`);
}

export interface ToolRegistry {
  get(name: string): Tool | undefined;
  names(): string[];
  /** The tools a request asked for by name, as the model sees them; unknown names throw `unknown_tool`. */
  select(names: readonly string[]): { tools: Tool[]; specs: ModelToolSpec[] };
}

/**
 * The tools of one instance by name.
 * @throws TypeError for two tools of one name (the second would silently win), or parameters that
 * are no Standard Schema of an object with a JSON Schema.
 */
export function createToolRegistry(tools: Tool[]): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new TypeError(`tools: two tools are named ${JSON.stringify(tool.name)}; names must be unique`);
    if (!isStandardSchema(tool.parameters)) throw new TypeError(`tool ${tool.name}: parameters must be a Standard Schema; make the tool with defineTool(…)`);
    byName.set(tool.name, tool);
  }
  const specs = new Map(tools.map((t) => [t.name, { name: t.name, description: t.description, parameters: parametersJsonSchema(t.name, t.parameters, t.jsonSchema) }]));
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
    select(names) {
      const unknown = names.filter((n) => !byName.has(n));
      if (unknown.length) {
        throw new TokenwireError('unknown_tool', unknownToolMessage(unknown, [...byName.keys()], 'This server has no tools.'));
      }
      const unique = [...new Set(names)];
      return {
        tools: unique.map((n) => byName.get(n) as Tool),
        specs: unique.map((n) => specs.get(n) as ModelToolSpec),
      };
    },
  };
}

/**
 * The `unknown_tool` message: the names refused, then the ones known, or `none` when there are
 * none (an empty list would read "Known tools: .").
 */
export function unknownToolMessage(unknown: readonly string[], known: readonly string[], none: string): string {
  return `Unknown tool: ${unknown.join(', ')}. ${known.length ? `Known tools: ${known.join(', ')}.` : none}`;
}
