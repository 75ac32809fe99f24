import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getSse, postSse } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';

// the metrics operators of LLM streaming ask for, and readiness while draining.

let server: TestServer;
afterEach(() => server?.close());

const chat = (tokens: number) => ({ messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens } } });
/** The value of one series in Prometheus text, or undefined. */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('LLM metrics on /metrics', () => {
  it('exports TTFT and gaps by transport and model, connections, resumes and replays, cancel latency, errors and retained bytes', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '200' });
    const model = server.core.provider.defaultModel;
    const sse = await postSse(`${server.url}/api/chat`, chat(10));
    const start = (await sse.waitForFrame((f) => f.type === 'start')) as Extract<ServerFrame, { type: 'start' }>;
    await sse.ended;
    const resumed = await getSse(`${server.url}/api/streams/${start.streamId}`, { 'x-stream-token': start.streamToken as string, 'last-event-id': '3' });
    await resumed.ended;

    const ws = await connectWs(server.url);
    ws.send({ type: 'start', id: 'a', ...chat(5) });
    await ws.waitForFrame((f) => f.type === 'done');
    ws.send({ type: 'start', id: 'b', ...chat(10_000) });
    const longStart = await ws.waitForFrame((f) => f.type === 'start' && f.id === 'b');
    const long = await ws.waitForFrame((f) => f.type === 'token' && f.streamId === longStart.streamId && f.seq === 2);
    ws.send({ type: 'cancel', streamId: long.streamId });
    await ws.waitForFrame((f) => f.type === 'done' && f.streamId === long.streamId);
    ws.send({ type: 'cancel', streamId: 'st_nope' });
    await ws.waitForFrame((f) => f.type === 'error');

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(sample(text, `tokenwire_time_to_first_token_seconds_count{transport="sse",model="${model}"}`)).toBe(1);
    expect(sample(text, `tokenwire_time_to_first_token_seconds_count{transport="ws",model="${model}"}`)).toBe(2);
    expect(sample(text, `tokenwire_time_to_first_token_seconds_bucket{le="+Inf",transport="sse",model="${model}"}`) ?? sample(text, `tokenwire_time_to_first_token_seconds_bucket{transport="sse",model="${model}",le="+Inf"}`)).toBe(1);
    expect(sample(text, `tokenwire_inter_token_seconds_count{transport="sse",model="${model}"}`)).toBe(9);
    expect(sample(text, 'tokenwire_connections_open{transport="ws"}')).toBe(1);
    expect(sample(text, 'tokenwire_connections_open{transport="sse"}')).toBe(0);
    // One series per fact: the open WebSockets are the labelled gauge, not a second one.
    expect(text).not.toMatch(/^tokenwire_ws_connections\b/m);
    expect(sample(text, 'tokenwire_resumes_total{transport="sse"}')).toBe(1);
    // Frames 4..11 (8 tokens after seq 3, and done).
    expect(sample(text, 'tokenwire_replayed_frames_total{transport="sse"}')).toBe(8);
    expect(sample(text, 'tokenwire_abort_latency_seconds_count{cause="cancelled"}')).toBe(1);
    expect(sample(text, 'tokenwire_errors_total{code="unknown_stream"}')).toBe(1);
    expect(sample(text, 'tokenwire_retained_log_bytes')).toBeGreaterThan(1_000);
    expect(text).toContain('# TYPE tokenwire_approval_wait_seconds histogram');
    expect(text).toContain('# TYPE tokenwire_slow_consumers_total counter');
    ws.close();
  });
});

describe('/readyz', () => {
  it('is ready while serving and not ready while draining, when new chats get server_shutdown', async () => {
    server = await startServer();
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ ready: true });
    server.core.control.drain();
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ ready: false });
    const chatResponse = await fetch(`${server.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat(3)) });
    expect(chatResponse.status).toBe(503);
    expect(await chatResponse.json()).toMatchObject({ error: { code: 'server_shutdown' } });
  });

  it('turns false as soon as close() begins', async () => {
    server = await startServer();
    const closing = server.close();
    expect(server.core.control.draining).toBe(true);
    await closing;
  });
});
