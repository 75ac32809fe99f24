import { z } from 'zod';
import { isTokenwireError, TokenwireError } from '../../shared/errors.js';
import { ChatMessage, ChatOptions, type ChatRequest, type Transport } from '../../shared/protocol.js';
import type { ModelToolSpec } from '../models/provider.js';
import type { Logger } from '../observability/log.js';
import { unknownToolMessage, type Tool, type ToolRegistry } from '../tools/registry.js';
import type { PrepareRequest, PreparedRequest } from './chat-hooks.js';

/** A chat as the server decided it: the request the engine runs, its model's name and its tools. */
export interface PreparedChat {
  request: ChatRequest;
  /** The model in the `start` frame and the metrics: the chosen one, else the provider's default. */
  model: string;
  selected: { tools: Tool[]; specs: ModelToolSpec[] };
}

// The hook is the app's code, but its answer is checked once here: a typo (`sytem`) or a
// wrong type would otherwise reach the model silently.
const Prepared = z.strictObject({
  messages: z.array(ChatMessage).optional(),
  system: z.string().optional(),
  model: z.string().min(1).max(200).optional(),
  tools: z.array(z.string()).optional(),
  options: ChatOptions.optional(),
});

/**
 * Turns a client's chat request into the one the server runs: the `prepareRequest` hook's
 * decisions applied, the client's model checked against the allow-list (`model_not_allowed`)
 * and its tools selected (`unknown_tool`). Everything it throws is a TokenwireError.
 */
export function createRequestPreparer(deps: {
  prepareRequest: PrepareRequest | undefined;
  /** The models a client may name; the provider's default is always among them. */
  allowedModels: ReadonlySet<string>;
  defaultModel: string;
  tools: ToolRegistry;
  log: Logger;
}): (request: ChatRequest, context: { transport: Transport; subject: string | undefined }) => PreparedChat | Promise<PreparedChat> {
  const { prepareRequest, allowedModels, defaultModel, tools, log } = deps;

  /** The client's request as it is, with its model checked. */
  function asSent(request: ChatRequest): PreparedChat {
    const asked = request.options?.model;
    if (asked !== undefined && !allowedModels.has(asked)) throw new TokenwireError('model_not_allowed', `The model ${JSON.stringify(asked)} is not available here.`);
    return { request, model: asked ?? defaultModel, selected: tools.select(request.tools ?? []) };
  }

  /** A problem in the app's hook: logged with its cause, answered `internal` (the client cannot fix it). */
  const hookFailed = (message: string, cause?: unknown) => {
    log.error({ err: cause, hook: 'prepareRequest' }, message);
    return new TokenwireError('internal', undefined, { cause });
  };

  function apply(request: ChatRequest, prepared: PreparedRequest): PreparedChat {
    const chosen = prepared.model ?? prepared.options?.model;
    const options = { ...request.options, ...prepared.options, ...(chosen !== undefined ? { model: chosen } : {}) };
    const asked = request.options?.model;
    if (chosen === undefined && asked !== undefined && !allowedModels.has(asked)) {
      throw new TokenwireError('model_not_allowed', `The model ${JSON.stringify(asked)} is not available here.`);
    }
    let messages = prepared.messages ?? request.messages;
    if (prepared.system !== undefined) {
      // The server's prompt is the only system message, unless the hook chose the messages itself.
      const kept = prepared.messages ? messages : messages.filter((m) => m.role !== 'system');
      messages = [{ role: 'system', content: prepared.system }, ...kept];
    }
    let toolNames = request.tools ?? [];
    if (prepared.tools) {
      const unregistered = prepared.tools.filter((name) => !tools.get(name));
      if (unregistered.length) throw hookFailed(`prepareRequest named tools that are not registered: ${unregistered.join(', ')}`);
      const offered = prepared.tools;
      const refused = toolNames.filter((name) => !offered.includes(name));
      // Named as unknown, with only the tools this caller has: a refusal does not tell which other tools exist.
      if (refused.length) throw new TokenwireError('unknown_tool', unknownToolMessage(refused, offered, 'This chat is offered no tools.'));
      toolNames = offered;
    }
    const { tools: _clientTools, options: _clientOptions, ...rest } = request;
    const run: ChatRequest = { ...rest, messages, ...(toolNames.length ? { tools: toolNames } : {}), ...(Object.keys(options).length ? { options } : {}) };
    return { request: run, model: chosen ?? asked ?? defaultModel, selected: tools.select(toolNames) };
  }

  if (!prepareRequest) return (request) => asSent(request);
  return async (request, { transport, subject }) => {
    let answer: unknown;
    try {
      answer = await prepareRequest({ messages: request.messages, subject, options: request.options ?? {}, transport, tools: request.tools ?? [] });
    } catch (thrown) {
      if (isTokenwireError(thrown)) throw thrown;
      throw hookFailed('prepareRequest failed', thrown);
    }
    if (answer === undefined || answer === null) return asSent(request);
    const parsed = Prepared.safeParse(answer);
    if (!parsed.success) throw hookFailed(`prepareRequest returned what it may not: ${z.prettifyError(parsed.error)}`, parsed.error);
    return apply(request, parsed.data as PreparedRequest);
  };
}
