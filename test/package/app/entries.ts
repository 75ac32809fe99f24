/**
 * Every entry point of the installed package, used as an app would, under the strict consumer
 * settings of test/helpers/packed-app.ts (`skipLibCheck: false`: every declaration file the
 * package ships is checked too). Copied into the scratch app; never compiled in the repository.
 */
import type { LanguageModelV4, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { Redis } from 'ioredis';
import {
  createTokenwire,
  defineTool,
  ERROR_CODES,
  isTokenwireError,
  jwtAuth,
  memoryStore,
  openaiModel,
  simulatedModel,
  TokenwireError,
  ToolError,
  type ModelEvent,
  type ModelProvider,
  type Tokenwire,
  type TokenwireHealth,
  type TokenwireOptions,
} from 'tokenwire';
import { createChatClient, type ChatClient, type ChatClientOptions, type ChatResult, type ToolCall, type WebSocketCtor } from 'tokenwire/client';
import pkg from 'tokenwire/package.json' with { type: 'json' };
import { decodeServerFrame, PROTOCOL_VERSION, ServerFrame, TokenwireError as ProtocolError, type ErrorCode } from 'tokenwire/protocol';
import { useChatStream, type UseChatStream } from 'tokenwire/react';
import { aiSdkModel, type AiSdkModelOptions } from 'tokenwire/ai-sdk';
import { redisStore, RedisUnavailableError } from 'tokenwire/redis';
import { WebSocket } from 'ws';
import { z } from 'zod';

const echo: ModelProvider = {
  name: 'echo',
  defaultModel: 'echo-1',
  async *stream({ messages }): AsyncIterable<ModelEvent> {
    yield { type: 'text', text: messages.at(-1)?.content ?? '' };
    yield { type: 'finish', reason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } };
  },
};

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up.',
  parameters: z.strictObject({ word: z.string() }),
  needsApproval: false,
  run: async ({ word }, { signal }) => (signal.aborted ? null : { word, length: word.length }),
});

const options: TokenwireOptions = {
  basePath: '/tw',
  model: echo,
  tools: [lookup],
  auth: jwtAuth({ secret: 'a-secret-of-at-least-32-bytes-long!!', issuer: 'https://id.example.com' }),
  store: memoryStore(),
  limits: { maxStreamsPerClient: 4 },
  timeouts: { approvalTimeoutMs: 60_000 },
  logger: console,
};
const tw: Tokenwire = createTokenwire(options);
const health: TokenwireHealth = tw.health();
const fleet = createTokenwire({ store: redisStore({ client: new Redis({ lazyConnect: true }) }), model: simulatedModel({ tokensPerSecond: 50 }) });
const upstream = openaiModel({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:8000/v1', model: 'llama' });
// Any AI SDK language model (here one of the app's own, as anthropic('claude-…') returns one),
// with provider options; the result is the same ModelProvider.
const acme: LanguageModelV4 = {
  specificationVersion: 'v4',
  provider: 'acme.chat',
  modelId: 'acme-1',
  supportedUrls: {},
  doGenerate: () => Promise.reject(new Error('acme streams only')),
  doStream: async () => ({
    stream: new ReadableStream<LanguageModelV4StreamPart>({
      start(controller) {
        controller.enqueue({ type: 'text-delta', id: '0', delta: 'hi' });
        controller.enqueue({ type: 'finish', finishReason: { unified: 'stop', raw: 'end_turn' }, usage: { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } } });
        controller.close();
      },
    }),
  }),
};
const thinking: AiSdkModelOptions = { providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } }, idleTimeoutMs: 30_000 };
const acmeModel: ModelProvider = aiSdkModel(acme, thinking);
const withAcme = createTokenwire({ model: acmeModel, tools: [lookup] });

// The client takes `ws`'s WebSocket and the runtime's own without a cast.
const nodeSockets: ChatClientOptions = { baseUrl: 'http://127.0.0.1:3000/tw', transport: 'ws', WebSocket, headers: () => ({ cookie: 'sid=1' }) };
const ctor: WebSocketCtor = globalThis.WebSocket;
const client = createChatClient(nodeSockets);
const stream = client.chat({ messages: [{ role: 'user', content: 'hi' }], tools: ['lookup'], options: { maxTokens: 10 } });
stream.on('tool_call', (call: ToolCall) => void call.approve());
const result: Promise<ChatResult> = stream.result;

const decoded = decodeServerFrame('{"type":"token","streamId":"st_1","seq":1,"text":"hi"}');
const frame: ServerFrame | undefined = decoded.ok ? decoded.value : undefined;
const code: ErrorCode = new ProtocolError('not_found').code;
const hook: (chats: ChatClient) => UseChatStream = useChatStream;

export const used = [tw, health, fleet, upstream, withAcme, ctor, result, frame, code, hook, ERROR_CODES, isTokenwireError(new TokenwireError('internal')), new ToolError('x', 'y'), RedisUnavailableError, PROTOCOL_VERSION, pkg.version];
