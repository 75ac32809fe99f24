import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { wsUrl } from '../helpers/ws-client.js';

// A full GC on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Connections of each kind opened and closed; at ~1 ms a cycle the whole test takes seconds. */
const CYCLES = 3_000;
/** Cycles in flight at once. */
const PARALLEL = 50;
/**
 * Heap the churn may leave behind once collected. A socket kept in a table holds its
 * WebSocket, net.Socket and session (several KiB): 3,000 of them are well above this.
 */
const HEAP_SLACK_BYTES = 6 * 2 ** 20;

const parkedChat = (graceMs = 0) => ({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: 5 }, resumeGraceMs: graceMs } });

/** Runs `cycle` `count` times, `PARALLEL` at a time. */
async function churn(count: number, cycle: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await cycle(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

/** Opens a WebSocket, optionally starts a stream on it, and closes it from the client side. */
async function wsCycle(url: string, withStream: boolean): Promise<void> {
  const ws = new WebSocket(wsUrl(url));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  if (withStream) {
    ws.send(JSON.stringify({ type: 'start', id: 'c', ...parkedChat() }));
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
  }
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close();
  await closed;
}

/** The open-connections gauge of one transport. */
async function openConnections(running: TestServer, transport: 'sse' | 'ws'): Promise<number> {
  const { values } = await running.core.metrics.connectionsOpen.get();
  return values.find((v) => v.labels.transport === transport)?.value ?? 0;
}

/** Heap in use after a full collection (twice: finalizers of the first free more in the second). */
async function collectedHeap(): Promise<number> {
  for (let round = 0; round < 3; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

describe('per-connection state is released on close', () => {
  it(`after ${CYCLES} open/close cycles of each kind (WebSocket, dropped SSE chat, SSE resume) the gauges are back to zero and the heap is back within ${HEAP_SLACK_BYTES / 2 ** 20} MiB`, async () => {
    // Parked models (no first token for a minute): every stream lives exactly as long as its viewer.
    // A finished stream is forgotten at once (STREAM_TTL_MS=0), so the hub's own retention is not measured.
    server = await startServer({ SIM_FIRST_TOKEN_MS: '60000', STREAM_TTL_MS: '0', STREAM_STARTS_PER_MINUTE: '1000000', MAX_STREAMS_PER_CLIENT: '1000' });
    const running = server;
    const { url } = running;
    // One stream kept for its grace window without a viewer: the one every resume views again.
    const first = await postSse(`${url}/api/chat`, parkedChat(120_000));
    const start = (await first.waitForFrame((f) => f.type === 'start')) as { streamId: string; streamToken: string };
    first.disconnect();

    const kinds = {
      ws: (i: number) => wsCycle(url, i % 2 === 0),
      droppedChat: async () => {
        const chat = await postSse(`${url}/api/chat`, parkedChat());
        await chat.waitForFrame((f) => f.type === 'start');
        chat.disconnect();
      },
      resume: async () => {
        const view = await getSse(`${url}/api/streams/${start.streamId}`, { 'x-stream-token': start.streamToken, 'last-event-id': '-1' });
        await view.waitForFrame((f) => f.type === 'start');
        view.disconnect();
      },
    };
    const settled = async () => {
      await waitFor(async () => running.ws.size === 0 && (await openConnections(running, 'ws')) === 0 && (await openConnections(running, 'sse')) === 0, 'every connection to be released');
      // Only the kept stream: every dropped chat ended and was forgotten.
      await waitFor(() => running.core.hub.size === 1, 'dropped chats to be forgotten');
    };

    // Warm-up: code, pools and caches reach their steady size before the baseline.
    for (const cycle of Object.values(kinds)) await churn(200, cycle);
    await settled();
    const before = await collectedHeap();

    const started = performance.now();
    for (const cycle of Object.values(kinds)) await churn(CYCLES, cycle);
    await settled();
    const after = await collectedHeap();
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(`[connection-churn] ${3 * CYCLES} connections in ${((performance.now() - started) / 1000).toFixed(1)} s; heap ${mib(before)} -> ${mib(after)} MiB`);

    expect(running.ws.size).toBe(0);
    expect(await openConnections(running, 'ws')).toBe(0);
    expect(await openConnections(running, 'sse')).toBe(0);
    expect(after - before).toBeLessThan(HEAP_SLACK_BYTES);
    // The kept stream still serves a resume: nothing above was torn down by force.
    const again = await getSse(`${url}/api/streams/${start.streamId}`, { 'x-stream-token': start.streamToken });
    expect((await again.waitForFrame((f) => f.type === 'start')).streamId).toBe(start.streamId);
    again.disconnect();
  }, 60_000);
});
