import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, DEFAULT_RESUME_GRACE_MS, type ChatClient } from '../../client/index.js';
import type { TransportName } from '../../client/types.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NodeWebSocket, ask, firstToken } from './fixtures.js';

let server: TestServer;
const clients: ChatClient[] = [];
beforeAll(async () => {
  // A server cap below the client's default, to see it applied.
  server = await startServer({ SIM_TOKENS_PER_SECOND: '200', MAX_RESUME_GRACE_MS: '20000' });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.close());

const client = (transport: TransportName, resumeGraceMs?: number) => {
  const c = createChatClient({ baseUrl: server.url, transport, WebSocket: NodeWebSocket, ...(resumeGraceMs !== undefined ? { resumeGraceMs } : {}) });
  clients.push(c);
  return c;
};

describe.each(['sse', 'ws'] as const)('disconnect is not cancel, through the client over %s', (transport) => {
  it('asks for a resume window by default', async () => {
    const stream = client(transport).chat(ask('a short story', { options: { simulate: { tokens: 3 } } }));
    const result = await stream.result;
    expect(result.reason).toBe('stop');
    expect(DEFAULT_RESUME_GRACE_MS).toBe(30_000);
    // The request the server got carried the window; the server cut it to its cap.
    const hubStream = server.core.hub.get(result.streamId!)!;
    expect(hubStream.graceMs).toBe(20_000);
  });

  it('cancel() stops the generation at once, even with a resume window', async () => {
    const stream = client(transport).chat(ask('a long story', { options: { simulate: { tokens: 100_000 } } }));
    await firstToken(stream);
    const hubStream = server.core.hub.get(stream.streamId!)!;
    const cancelledAt = performance.now();
    stream.cancel();
    expect((await stream.result).reason).toBe('cancelled');
    await waitFor(() => hubStream.done, 'the server to end the stream', 2_000);
    const abortMs = hubStream.abortedAt! - cancelledAt;
    expect((await loggedFrames(hubStream, hubStream.lastSeq - 1)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(abortMs).toBeLessThan(1_000);
  });

  it('cancel() before the server named the stream still cancels it on the server', async () => {
    const counted = async (counter: 'streamsDone' | 'streamsStarted', label: string) =>
      (await server.core.metrics[counter].get()).values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0;
    const c = client(transport);
    await c.chat(ask('warm up', { options: { simulate: { tokens: 1 } } })).result; // the socket is open
    const [started, cancelled] = [await counted('streamsStarted', transport), await counted('streamsDone', 'cancelled')];
    const stream = c.chat(ask('a long story', { options: { simulate: { tokens: 100_000 } } }));
    // After the request left (one macrotask), before the `start` frame came back.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.streamId).toBeUndefined();
    stream.cancel();
    expect((await stream.result).reason).toBe('cancelled');
    const deadline = Date.now() + 3_000;
    while ((await counted('streamsDone', 'cancelled')) === cancelled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await counted('streamsStarted', transport)).toBe(started + 1);
    expect(await counted('streamsDone', 'cancelled')).toBe(cancelled + 1);
  });

  it('resumeGraceMs: 0 asks for no window: the request carries none', async () => {
    const stream = client(transport, 0).chat(ask('a short story', { options: { simulate: { tokens: 3 } } }));
    const result = await stream.result;
    expect(server.core.hub.get(result.streamId!)!.graceMs).toBe(0);
  });
});
