/**
 * `tokenwire`: stream LLM output to browsers over Server-Sent Events and WebSocket, with tool
 * approval round trips and streams that survive dropped connections. Create one instance with
 * `createTokenwire(options)` and mount it in your server:
 *
 * ```ts
 * const tw = createTokenwire({ tools: [refund], model: openaiModel({ apiKey }) });
 * app.use(tw.router);            // Express / Connect
 * tw.attach(httpServer);         // WebSocket on /ws
 * // or: app.all('/api/*', (c) => tw.fetch(c.req.raw))   // Hono, Next.js, Bun, Deno
 * ```
 *
 * The browser side is `tokenwire/client` (and `tokenwire/react`); the frames are in
 * `tokenwire/protocol`; the Redis store for a fleet is `tokenwire/redis`.
 * @packageDocumentation
 */
export { createTokenwire, type Tokenwire, type TokenwireHealth, type TokenwireRouter } from './tokenwire.js';
export type { AttachOptions, UpgradeSource } from './edge/ws/ws-server.js';
export type { AuthenticateRequest, TokenwireAuth, TokenwireLimits, TokenwireOptions, TokenwireStreams, TokenwireTimeouts } from './options.js';
export type { ChatToolCall, FinishEvent, PrepareRequest, PrepareRequestInput, PreparedRequest, StreamErrorEvent, ToolCallOutcome } from './service/chat-hooks.js';
export {
  defineTool,
  ToolError,
  type JsonSchemaObject,
  type NeedsApproval,
  type StandardResult,
  type StandardSchemaV1,
  type Tool,
  type ToolApproval,
  type ToolApprovalInfo,
  type ToolArgs,
  type ToolCallInfo,
  type ToolDecider,
  type ToolDefinition,
  type ToolRunContext,
} from './tools/registry.js';
export { defineClientTool, type ClientTool, type ClientToolDefinition } from './tools/client-tool.js';
export { openaiModel, simulatedModel, type OpenAIModelOptions, type SimulatedModelOptions } from './models/factories.js';
export type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelSink, ModelToolCall, ModelToolSpec, ProviderData } from './models/provider.js';
export { jwtAuth, type JwtAuthOptions } from './access/jwt-auth.js';
export { memoryStore, type StoreOption } from './fleet/store-option.js';
export type { Logger } from './observability/log.js';
export { TokenwireError, isTokenwireError, ERROR_CODES, type ErrorCode } from '../shared/errors.js';
export type { ChatMessage, ChatOptions, DoneReason, SimulateOptions, Transport, Usage } from '../shared/protocol.js';
