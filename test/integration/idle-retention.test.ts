import type { IncomingMessage, ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/events.js';
import { postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs, type WsTestClient } from '../helpers/ws-client.js';

// A full GC on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until `refs` are all gone, or gives up after a few rounds (a WeakRef holds its target until its job ends). */
async function collected(refs: WeakRef<object>[]): Promise<number> {
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    if (refs.every((r) => r.deref() === undefined)) break;
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

let server: TestServer | undefined;
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
});

// what an idle connection holds. A byte figure would flake; whether a given object
// is still reachable does not.
describe('idle connections keep only what they need', () => {
  it('an idle WebSocket does not keep its upgrade request alive', async () => {
    server = await startServer();
    const requests: WeakRef<IncomingMessage>[] = [];
    server.http.prependListener('upgrade', (req: IncomingMessage) => void requests.push(new WeakRef(req)));
    for (let i = 0; i < 5; i++) clients.push(await connectWs(server.url));
    await waitFor(() => requests.length === 5, 'five upgrades');

    expect(await collected(requests)).toBe(0);
    // Still open and usable after the collection: the request was not needed.
    expect(clients.every((c) => c.ws.readyState === WebSocket.OPEN)).toBe(true);
    clients[0]?.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 2 } } });
    await clients[0]?.waitForFrame((f) => f.type === 'done');
  });

  it('a parked SSE response keeps no header table, and still names its instance', async () => {
    server = await startServer({ SIM_FIRST_TOKEN_MS: '60000' });
    let response: ServerResponse | undefined;
    server.http.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => void (response = res));
    const session = await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'Tell me a story' }] });
    await session.waitForFrame((f) => f.type === 'start');
    expect(session.headers['x-tokenwire-instance']).toBe(server.core.instanceId);
    // Node keeps a table of every header only when one was set before writeHead: none was.
    expect(response?.getHeaderNames()).toEqual([]);
    session.disconnect();
  });

  it('every other answer still names its instance: JSON, errors, 204', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
    const done = await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 2 } } });
    const start = await done.waitForFrame((f) => f.type === 'start');
    const last = (await done.ended).at(-1);
    const answers = await Promise.all([
      fetch(`${server.url}/healthz`),
      fetch(`${server.url}/api/nothing-here`),
      fetch(`${server.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": []}' }),
      fetch(`${server.url}/api/streams/${start.streamId}?lastSeq=${last?.seq}&token=${(start as { streamToken?: string }).streamToken}`),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 404, 400, 204]);
    for (const r of answers) expect(r.headers.get('x-tokenwire-instance')).toBe(server.core.instanceId);
  });
});
