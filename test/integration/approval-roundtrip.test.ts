import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';

/**
 * the approval round trip, decision sent → `tool_result` received, on loopback, over
 * WebSocket and over SSE + POST. It prints the figures; it asserts only that every run worked,
 * never a time (a loaded CI machine must not fail it).
 */
const RUNS = 50;
const question = { messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'] };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(3);
  return `${label}: median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${at(0)} ms, max ${at(1)} ms (n=${samples.length})`;
}

describe('approval round trip on loopback (measurement)', () => {
  it(`measures decision sent → tool_result received, ${RUNS} runs on WebSocket and ${RUNS} on SSE + POST, and prints both`, async () => {
    // A measurement, not a client: 100 round trips in a few seconds are above the per-client limits.
    server = await startServer({ SIM_TOKENS_PER_SECOND: '5000', STREAM_STARTS_PER_MINUTE: '100000', WS_MESSAGES_PER_SECOND: '100000' });
    const url = server.url;

    const ws: number[] = [];
    const c = await connectWs(url);
    for (let i = 0; i < RUNS; i++) {
      c.send({ type: 'start', id: `c${i}`, ...question });
      const start = await c.waitForFrame((f) => f.type === 'start' && f.id === `c${i}`);
      const call = (await c.waitForFrame((f) => f.type === 'tool_call' && f.streamId === start.streamId)) as ServerFrameOf<'tool_call'>;
      const sent = performance.now();
      c.send({ type: 'approve', callId: call.callId });
      const result = await c.waitForFrame((f) => f.type === 'tool_result' && f.callId === call.callId);
      ws.push(performance.now() - sent);
      expect(result).toMatchObject({ ok: true });
      await c.waitForFrame((f) => f.type === 'done' && f.streamId === start.streamId);
    }
    c.ws.close();

    const sse: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const session = await postSse(`${url}/api/chat`, question);
      const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
      const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
      const sent = performance.now();
      const response = fetch(`${url}/api/approvals/${call.callId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve', token: start.approvalToken }),
      });
      const result = await session.waitForFrame((f) => f.type === 'tool_result');
      sse.push(performance.now() - sent);
      expect(result).toMatchObject({ ok: true });
      expect((await response).status).toBe(200);
      await session.ended;
    }

    console.log(`approval round trip on loopback\n  ${summary('WebSocket   ', ws)}\n  ${summary('SSE + POST  ', sse)}`);
    expect(ws).toHaveLength(RUNS);
    expect(sse).toHaveLength(RUNS);
  });
});
