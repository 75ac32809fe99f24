import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { createTokenwire, jwtAuth, type ModelProvider, type StoreOption, type Tokenwire, type Tool, type TokenwireTimeouts } from '../../server/index.js';
import type { ModelEvent, ModelRequest } from '../../server/models/provider.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { HS_SECRET, signJwt } from './jwt.js';
import { postSse } from './sse-client.js';
import { connectWs, type WsTestClient } from './ws-client.js';

// An app's tools behind jwtAuth on a real socket, and one way to chat and decide per transport:
// SSE with POST /api/approvals/:callId, or the WebSocket with its approve/deny frames.

export type TransportName = 'sse' | 'ws';

/**
 * A model that records its requests: a turn after a tool message says what it was told
 * (`told: <content>`); else it calls the tool the user's message names, as JSON `{ tool, args }`.
 */
export function recordingModel(): ModelProvider & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    name: 'recording',
    defaultModel: 'recording',
    requests,
    async *stream(request): AsyncIterable<ModelEvent> {
      requests.push(request);
      const last = request.messages.at(-1);
      if (last?.role === 'tool') {
        yield { type: 'text', text: `told: ${last.content}` };
        yield { type: 'finish', reason: 'stop' };
        return;
      }
      const { tool, args } = JSON.parse(last?.content ?? '{}') as { tool: string; args: unknown };
      yield { type: 'tool_call_delta', index: 0, id: `up_${requests.length}`, name: tool, argumentsDelta: JSON.stringify(args) };
      yield { type: 'finish', reason: 'tool_calls' };
    },
  };
}

export interface ToolApp {
  url: string;
  tw: Tokenwire;
  model: ReturnType<typeof recordingModel>;
  /** A bearer JWT for `subject`. */
  token(subject: string): Promise<string>;
  close(): Promise<void>;
}

/** tokenwire with `tools`, jwtAuth and the recording model, in an Express app on port 0 with the WebSocket attached. */
export async function startToolApp(tools: Tool[], options: { timeouts?: TokenwireTimeouts; store?: StoreOption } = {}): Promise<ToolApp> {
  const model = recordingModel();
  const tw = createTokenwire({ tools, model, auth: jwtAuth({ secret: HS_SECRET }), timeouts: options.timeouts ?? {}, ...(options.store ? { store: options.store } : {}) });
  const app = express();
  app.use(tw.router);
  const server: Server = createServer(app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  tw.attach(server);
  // With a Redis store the WebSocket takes upgrades once the store is connected.
  await tw.ready();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tw,
    model,
    token: (subject) => signJwt({ sub: subject }),
    async close() {
      await tw.close({ deadlineMs: 500 });
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One chat as a test sees it, whatever carries it. */
export interface Chat {
  frames: ServerFrame[];
  waitFor(match: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** The chat's tool call. */
  call(): Promise<ServerFrameOf<'tool_call'>>;
  /** The chat's tool result. */
  result(): Promise<ServerFrameOf<'tool_result'>>;
  /** The chat's `done` frame. */
  done(): Promise<ServerFrameOf<'done'>>;
  close(): void;
}

/** Starts a chat as `subject` asking the recording model to call `tool` with `args`. */
export async function openChat(app: ToolApp, transport: TransportName, subject: string, tool: string, args: unknown): Promise<Chat> {
  const bearer = await app.token(subject);
  const body = { messages: [{ role: 'user', content: JSON.stringify({ tool, args }) }], tools: [tool] };
  let frames: ServerFrame[];
  let waitFor: Chat['waitFor'];
  let close: () => void;
  if (transport === 'sse') {
    const session = await postSse(`${app.url}/api/chat`, body, { authorization: `Bearer ${bearer}` });
    ({ frames } = session);
    waitFor = (match) => session.waitForFrame(match);
    close = () => session.disconnect();
  } else {
    const client = await connectWs(app.url, { headers: { authorization: `Bearer ${bearer}` } });
    client.send({ type: 'start', id: 'c1', ...body });
    ({ frames } = client);
    waitFor = (match) => client.waitForFrame(match);
    close = () => client.close();
  }
  return {
    frames,
    waitFor,
    call: () => waitFor((f) => f.type === 'tool_call') as Promise<ServerFrameOf<'tool_call'>>,
    result: () => waitFor((f) => f.type === 'tool_result') as Promise<ServerFrameOf<'tool_result'>>,
    done: () => waitFor((f) => f.type === 'done') as Promise<ServerFrameOf<'done'>>,
    close,
  };
}

/** A decision as both transports carry it. */
export interface DecisionBody {
  decision: 'approve' | 'deny';
  args?: Record<string, unknown>;
  reason?: string;
  code?: string;
}

/**
 * Decides `callId` as `subject` over `transport`: `POST /api/approvals/:callId`, or an
 * `approve`/`deny` frame on a socket of that subject's own. Resolves `accepted`, or the refusal's code
 * (an HTTP error body, or the socket's `error` frame); a WebSocket decision is accepted when `chat` shows the call's result.
 */
export async function decide(app: ToolApp, transport: TransportName, subject: string, callId: string, body: DecisionBody, chat: Chat): Promise<string> {
  const bearer = await app.token(subject);
  if (transport === 'sse') {
    const response = await fetch(`${app.url}/api/approvals/${encodeURIComponent(callId)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });
    if (response.ok) return 'accepted';
    return ((await response.json()) as { error: { code: string } }).error.code;
  }
  const socket: WsTestClient = await connectWs(app.url, { headers: { authorization: `Bearer ${bearer}` } });
  try {
    const { decision, ...rest } = body;
    socket.send({ type: decision, callId, ...rest });
    // The one that does not happen times out later, after the race: it must not reject unheard.
    const refused = socket.waitForFrame((f) => f.type === 'error').then((f) => (f as ServerFrameOf<'error'>).code as string, () => 'no_answer');
    const applied = chat.waitFor((f) => f.type === 'tool_result' && f.callId === callId).then(() => 'accepted', () => 'no_answer');
    return await Promise.race([refused, applied]);
  } finally {
    socket.close();
  }
}
