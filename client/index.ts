/**
 * tokenwire's browser (and Node) client: `createChatClient` streams chats over SSE or
 * WebSocket behind one API. The React hook lives in `client/react.ts`, so this edge never
 * imports React.
 */
export { createChatClient, DEFAULT_RESUME_GRACE_MS } from './chat-client.js';
export { createChatStore, IDLE_STATE, type ChatState, type ChatStatus, type ChatStore } from './chat-store.js';
export type { WireFrame } from './frame-log.js';
export { createRenderBatcher, DEFAULT_BATCH_MS, type RenderBatcher, type RenderBatcherOptions } from './render-batcher.js';
export type {
  ChatClient,
  ChatClientOptions,
  ChatInput,
  ChatResult,
  ChatStream,
  ChatStreamEvents,
  ChatStreamStatus,
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
export { TokenwireError, isTokenwireError, type ErrorCode } from '../shared/errors.js';
export type { ChatMessage, ChatOptions, DoneReason, Usage } from '../shared/protocol.js';
export { showHiddenCharacters, type HiddenCharacters } from '../shared/hidden-characters.js';
