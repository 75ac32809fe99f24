/**
 * `tokenwire/client`: the browser (and Node) client. `createChatClient` streams chats over SSE
 * or WebSocket behind one API, with tool approvals and resume after a dropped connection. The
 * React hook is `tokenwire/react`, so this entry point never imports React.
 * @packageDocumentation
 */
export { createChatClient, DEFAULT_RESUME_GRACE_MS } from './chat-client.js';
export { createChatStore, IDLE_STATE, type ChatState, type ChatStatus, type ChatStore } from './chat-store.js';
export type { WireFrame } from './frame-log.js';
export { pageWakeups, type WakeupTarget, type Wakeups } from './reconnect.js';
export { createRenderBatcher, DEFAULT_BATCH_MS, type RenderBatcher, type RenderBatcherOptions } from './render-batcher.js';
export type {
  ApproveOptions,
  ChatClient,
  ChatClientOptions,
  ChatInput,
  ChatResult,
  ChatStream,
  ChatStreamEvents,
  ChatStreamStatus,
  ClientToolContext,
  ClientToolHandler,
  DenyOptions,
  Fallback,
  HeadersProvider,
  StreamRef,
  StreamStats,
  TokenBatch,
  ToolCall,
  ToolCallStatus,
  ToolResult,
  TransportChoice,
  TransportName,
  WebSocketCtor,
  WebSocketLike,
} from './types.js';
export { ERROR_CODES, TokenwireError, isTokenwireError, type ErrorCode } from '../shared/errors.js';
export type { ChatMessage, ChatOptions, DoneReason, ServerFrame, Usage } from '../shared/protocol.js';
export { showHiddenCharacters, type HiddenCharacters } from '../shared/hidden-characters.js';
