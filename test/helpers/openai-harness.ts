import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import { startServer, type TestServer } from './server.js';
import { connectWs, type WsTestClient } from './ws-client.js';

/** The real server against the fake OpenAI upstream, for one test file. */
export interface OpenAIHarness {
  /** The loopback upstream, started once per file; its `calls` are cleared after each test. */
  readonly upstream: FakeOpenAI;
  /** The server of the current test (from `start`). */
  readonly server: TestServer;
  /** Starts the server with the openai provider pointed at the upstream; `env` adds or overrides. */
  start(env?: Record<string, string>): Promise<TestServer>;
  /** A WebSocket to the current server, closed after the test. */
  connect(): Promise<WsTestClient>;
}

/**
 * Registers the file's hooks: one upstream for the file; after each test, its sockets and its
 * server closed and the upstream's calls forgotten.
 */
export function useOpenAIHarness(): OpenAIHarness {
  let upstream: FakeOpenAI | undefined;
  let server: TestServer | undefined;
  const clients: WsTestClient[] = [];
  beforeAll(async () => {
    upstream = await startFakeOpenAI();
  });
  afterAll(() => upstream?.close());
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await server?.close();
    server = undefined;
    if (upstream) upstream.calls.length = 0;
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not running`);
    return value;
  };
  return {
    get upstream() {
      return need(upstream, 'the upstream');
    },
    get server() {
      return need(server, 'the server (call start first)');
    },
    async start(env = {}) {
      server = await startServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: need(upstream, 'the upstream').baseURL, MODEL: 'gpt-test', ...env });
      return server;
    },
    async connect() {
      const c = await connectWs(need(server, 'the server').url);
      clients.push(c);
      return c;
    },
  };
}
