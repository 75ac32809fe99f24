import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWs } from '../helpers/ws-client.js';

// Resume latency: from the start of a reconnect (a new HTTP request, or a new
// WebSocket and its `resume`) to the first replayed frame, on loopback.

const SAMPLES = 50;
let server: TestServer;
let start: ServerFrameOf<'start'>;
let seen = 0;

beforeAll(async () => {
  server = await startServer({ SIM_TOKENS_PER_SECOND: '1000' });
  const first = await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'a long story' }], options: { simulate: { tokens: 1_000_000 }, resumeGraceMs: 60_000 } });
  start = (await first.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
  await first.waitForFrame((f) => f.seq >= 20);
  seen = first.frames.at(-1)!.seq;
  first.disconnect();
});
afterAll(() => server.close());

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

describe('resume latency, reconnect → first replayed frame', () => {
  it.each(['sse', 'ws'] as const)('over %s', async (transport) => {
    const ms: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // Some frames back, so there is always a replay to wait for.
      const from = seen - 5;
      const t0 = performance.now();
      if (transport === 'sse') {
        const session = await getSse(`${server.url}/api/streams/${start.streamId}?token=${start.approvalToken}`, { 'last-event-id': String(from) });
        const frame = await session.waitForFrame(() => true);
        ms.push(performance.now() - t0);
        expect(frame.seq).toBe(from + 1);
        seen = Math.max(seen, session.frames.at(-1)!.seq);
        session.disconnect();
      } else {
        const c = await connectWs(server.url);
        c.send({ type: 'resume', streamId: start.streamId, lastSeq: from, token: start.approvalToken });
        const frame = await c.waitForFrame(() => true);
        ms.push(performance.now() - t0);
        expect(frame.seq).toBe(from + 1);
        seen = Math.max(seen, c.frames.at(-1)!.seq);
        c.close();
      }
    }
    ms.sort((a, b) => a - b);
    console.log(`[resume-latency] ${transport}: p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms (${SAMPLES} reconnects on loopback)`);
    expect(ms).toHaveLength(SAMPLES);
  });
});
