import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runK6, summaryLines } from '../helpers/k6.js';
import { K6_BUILD_TIMEOUT_MS, k6Binary } from '../helpers/k6-binary.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Every script in load/k6 runs for a few seconds under real k6 (with the k6/x/sse extension)
// against a real server, and must pass its own checks and thresholds: CI fails when they fail.
const SCRIPTS = readdirSync(new URL('../../load/k6', import.meta.url)).filter((f) => f.endsWith('.js')).sort();
// 200 tokens/s keeps a 20-token stream at ~0.1 s, so each VU runs many streams in 3 s.
const SETTINGS = { VUS: '3', DURATION: '3s', PAUSE: '0', TOKENS: '20', GAP_P95_MS: '100', TTFT_P95_MS: '1000' };
const RUN_TIMEOUT_MS = 60_000;
const LOAD_TEST_LIMITS = { MAX_STREAMS_PER_CLIENT: '10000', STREAM_STARTS_PER_MINUTE: '1000000', WS_MESSAGES_PER_SECOND: '100000' };

let server: TestServer;
beforeAll(async () => {
  // Unpack or build k6 before the clock of the first test starts. Without one, every k6 test
  // fails with the message that says how to get it: a hook that threw would only skip them.
  await k6Binary().catch(() => {});
  // One address drives every VU: per-client limits sized for a load generator (load/k6/README.md).
  server = await startServer({ SIM_TOKENS_PER_SECOND: '200', ...LOAD_TEST_LIMITS });
}, K6_BUILD_TIMEOUT_MS + 30_000);
afterAll(() => server?.close());

describe('k6 scripts under real k6', () => {
  it('finds every script', () => {
    expect(SCRIPTS).toEqual(expect.arrayContaining(['sse-chat.js', 'sse-chat-http.js', 'ws-chat.js', 'ws-approval.js', 'mixed.js']));
  });

  it.each(SCRIPTS)('%s passes its checks and thresholds', async (script) => {
    const run = await runK6(`load/k6/${script}`, { ...SETTINGS, BASE_URL: server.url }, RUN_TIMEOUT_MS);
    console.log(`k6 ${script} (exit ${run.code}):\n${summaryLines(run.summary).join('\n')}`);
    expect(run.code, `${run.summary}\n${run.stderr}`).toBe(0);
    expect(run.summary).toMatch(/checks\.*: 100\.00%/);
  }, RUN_TIMEOUT_MS + 10_000);
});

describe('a failed check fails the run', () => {
  let liar: Server;
  let url: string;
  beforeAll(async () => {
    // Answers every chat with 3 tokens whatever was asked: 'every token asked for' fails.
    liar = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const frame = (seq: number, body: object) => `id: ${seq}\nevent: ${(body as { type: string }).type}\ndata: ${JSON.stringify({ streamId: 'st_x', seq, ...body })}\n\n`;
      res.end(
        frame(0, { type: 'start', protocol: 2, model: 'm', transport: 'sse' }) +
          [1, 2, 3].map((seq) => frame(seq, { type: 'token', text: 'x' })).join('') +
          frame(4, { type: 'done', reason: 'stop' }),
      );
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => liar.close(() => resolve())));

  it.each(['sse-chat.js', 'sse-chat-http.js'])('%s exits 99 when a stream lacks tokens', async (script) => {
    const run = await runK6(`load/k6/${script}`, { ...SETTINGS, VUS: '1', DURATION: '1s', BASE_URL: url }, RUN_TIMEOUT_MS);
    expect(run.code, run.summary + run.stderr).toBe(99);
    expect(run.summary).toMatch(/✗ sse: every token asked for/);
  }, RUN_TIMEOUT_MS + 10_000);
});

describe('a refused start fails fast and says why', () => {
  let draining: TestServer;
  beforeAll(async () => {
    // Draining: upgrades are still accepted, every start is refused with server_shutdown.
    draining = await startServer({ SIM_TOKENS_PER_SECOND: '200', ...LOAD_TEST_LIMITS });
    draining.core.control.drain();
  });
  afterAll(() => draining?.close());

  it.each([
    ['ws-chat.js', 'ws'],
    ['ws-approval.js', 'approval'],
  ])('%s fails its checks within seconds (not the stream timeout) and prints the refusal', async (script, flow) => {
    const began = performance.now();
    const run = await runK6(`load/k6/${script}`, { ...SETTINGS, VUS: '1', DURATION: '1s', BASE_URL: draining.url }, RUN_TIMEOUT_MS);
    const seconds = (performance.now() - began) / 1000;
    console.log(`k6 ${script} against a draining server: exit ${run.code} after ${seconds.toFixed(1)} s`);
    expect(run.code, run.summary + run.stderr).toBe(99);
    expect(run.stderr).toMatch(new RegExp(`${flow}: start refused: server_shutdown: `));
    expect(run.summary).toMatch(/tw_refused_starts/);
    // The stream timeout is 60 s and k6's graceful stop 30 s or more: a run that waited for either is far above this.
    expect(seconds).toBeLessThan(20);
  }, RUN_TIMEOUT_MS + 10_000);
});
