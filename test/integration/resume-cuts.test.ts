import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatClient, type ChatInput } from '../../client/index.js';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { NodeWebSocket } from '../client/fixtures.js';
import { startCuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs, framesOf } from '../helpers/ws-client.js';

// with default settings, connections cut at random points and resumed lose and
// duplicate no token, over SSE, over WebSocket, and across them, through tokenwire's own client.

const STREAMS = 12;
const TOKENS = 400;
const SEED = 9;

let server: TestServer;
let proxy: CuttingProxy;
let reference: string[];

const prompt = (i: number): ChatInput => ({ messages: [{ role: 'user', content: `Tell me story number ${i}` }], options: { simulate: { tokens: TOKENS } } });
const tokensOf = (frames: ServerFrame[]) => frames.filter((f): f is ServerFrameOf<'token'> => f.type === 'token').map((f) => f.text);

/** Tokens lost and duplicated in `got` against `want`, as multisets of (text) with order checked by the caller. */
function lostAndDuplicated(want: string[], got: string[]): { lost: number; duplicated: number } {
  const counts = new Map<string, number>();
  for (const t of want) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const t of got) counts.set(t, (counts.get(t) ?? 0) - 1);
  let lost = 0;
  let duplicated = 0;
  for (const n of counts.values()) {
    if (n > 0) lost += n;
    else duplicated -= n;
  }
  return { lost, duplicated };
}

const references = new Map<number, string[]>();

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '2000' });
  // Cut each connection after 1.5–8 KB of the server's answer: several cuts per stream.
  proxy = await startCuttingProxy({ target: { host: '127.0.0.1', port: server.port }, cutAfterBytes: { min: 1_500, max: 8_000 }, seed: SEED });
  for (let i = 0; i < STREAMS; i++) {
    // The full reference read: straight to the server, no proxy.
    references.set(i, tokensOf(await (await postSse(`${server.url}/api/chat`, prompt(i))).ended));
  }
  reference = references.get(0)!;
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

describe.each(['sse', 'ws'] as const)('connections cut at random points, resumed by the client over %s', (transport) => {
  it(`${STREAMS} streams lose 0 and duplicate 0 tokens against a full reference read`, async () => {
    expect(reference).toHaveLength(TOKENS);
    const cutsBefore = proxy.cuts;
    const clients: ChatClient[] = [];
    const runs = [...Array(STREAMS).keys()].map(async (i) => {
      // Default settings: only the base URL, the transport and Node's WebSocket.
      const client = createChatClient({ baseUrl: proxy.url, transport, WebSocket: NodeWebSocket, batchMs: 0 });
      clients.push(client);
      const stream = client.chat(prompt(i));
      const got: string[] = [];
      stream.onToken((batch) => got.push(batch.text));
      const result = await stream.result;
      return { i, result, got, reconnects: stream.stats().reconnects };
    });
    const results = await Promise.all(runs);
    for (const c of clients) c.close();

    let lost = 0;
    let duplicated = 0;
    for (const { i, result, got } of results) {
      const counted = lostAndDuplicated(references.get(i)!, got);
      lost += counted.lost;
      duplicated += counted.duplicated;
      expect(result.reason, `stream ${i}: ${result.error?.message ?? ''}`).toBe('stop');
      expect(got.join('')).toBe(references.get(i)!.join(''));
    }
    const reconnects = results.reduce((sum, r) => sum + r.reconnects, 0);
    console.log(`[resume-cuts] ${transport}: ${STREAMS} streams × ${TOKENS} tokens, ${proxy.cuts - cutsBefore} cuts, ${reconnects} resumes, lost ${lost}, duplicated ${duplicated}`);
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    expect(reconnects).toBeGreaterThanOrEqual(STREAMS);
  }, 60_000);
});

describe('across transports, with the stream token', () => {
  it('starts over SSE, is cut, resumes over WebSocket: 0 lost, 0 duplicated', async () => {
    const first = await postSse(`${proxy.url}/api/chat`, { ...prompt(0), options: { ...prompt(0).options, resumeGraceMs: 10_000 } });
    const before = await first.ended.catch(() => first.frames); // the proxy cut it
    expect(before.at(-1)?.type).not.toBe('done');
    const start = before[0] as ServerFrameOf<'start'>;
    const ws = await connectWs(server.url);
    ws.send({ type: 'resume', streamId: start.streamId, lastSeq: before.at(-1)!.seq, token: start.approvalToken });
    await ws.waitForFrame((f) => f.type === 'done', 10_000);
    const after = framesOf(ws.frames, start.streamId);
    ws.close();
    expect(lostAndDuplicated(reference, [...tokensOf(before), ...tokensOf(after)])).toEqual({ lost: 0, duplicated: 0 });
    expect([...tokensOf(before), ...tokensOf(after)]).toEqual(reference);
  });

  it('starts over WebSocket, is cut, resumes over SSE: 0 lost, 0 duplicated', async () => {
    const ws = await connectWs(proxy.url);
    ws.send({ type: 'start', id: 'c1', ...prompt(0), options: { ...prompt(0).options, resumeGraceMs: 10_000 } });
    await ws.closed; // the proxy cut it
    const start = ws.frames.find((f) => f.type === 'start') as ServerFrameOf<'start'>;
    const before = framesOf(ws.frames, start.streamId);
    expect(before.at(-1)?.type).not.toBe('done');
    const again = await getSse(`${server.url}/api/streams/${start.streamId}?token=${start.approvalToken}`, { 'last-event-id': String(before.at(-1)!.seq) });
    const after = await again.ended;
    expect(after.at(-1)?.type).toBe('done');
    expect([...tokensOf(before), ...tokensOf(after)]).toEqual(reference);
  });
});
