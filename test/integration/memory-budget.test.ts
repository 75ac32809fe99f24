import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/settings/config.js';
import { TOKEN_ENTRY_OVERHEAD_BYTES } from '../../server/streams/memory-store.js';
import { runServerProcess } from '../helpers/server-process.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const HEAP_MB = 384;
const CONCURRENT = 10;
const ROUNDS = 24;
const TOKENS = 20_000;

/** One Prometheus sample from a scrape, by metric name (and label text). */
const sample = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

/** Reads one chat to its end, keeping only the byte count and the tail. */
async function readChat(url: string, i: number): Promise<{ bytes: number; tail: string }> {
  const res = await fetch(`${url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `a long answer ${i}` }], options: { simulate: { tokens: TOKENS } } }),
  });
  const reader = res.body!.getReader();
  let bytes = 0;
  let tail = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    tail = (tail + decoder.decode(value, { stream: true })).slice(-300);
  }
  return { bytes, tail };
}

describe('the log budget under a heap cap', () => {
  it(`a server with --max-old-space-size=${HEAP_MB} and default budgets survives one client reading ${CONCURRENT} long answers at a time`, async () => {
    const proc = runServerProcess({ SIM_TOKENS_PER_SECOND: '50000', SIM_FIRST_TOKEN_MS: '0', STREAM_STARTS_PER_MINUTE: '1000' }, [`--max-old-space-size=${HEAP_MB}`]);
    children.push(proc.child);
    const url = await proc.listening;
    const defaults = loadConfig({});
    let peakHeap = 0;
    let peakRetained = 0;
    let bytesRead = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const reads = await Promise.all([...Array(CONCURRENT).keys()].map((i) => readChat(url, round * CONCURRENT + i)));
      for (const read of reads) {
        expect(read.tail).toMatch(/event: done\n/);
        bytesRead += read.bytes;
      }
      const metrics = await (await fetch(`${url}/metrics`)).text();
      peakHeap = Math.max(peakHeap, sample(metrics, 'nodejs_heap_size_used_bytes'));
      peakRetained = Math.max(peakRetained, sample(metrics, 'tokenwire_retained_log_bytes'));
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const evicted = sample(metrics, 'tokenwire_streams_evicted_total\\{kind="finished"\\}');
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `[memory-budget] ${ROUNDS * CONCURRENT} answers × ${TOKENS} tokens (${mib(bytesRead)} MiB of SSE) under a ${HEAP_MB} MiB heap: ` +
        `retained peak ${mib(peakRetained)} MiB (budget ${mib(defaults.STREAMS_MAX_RETAINED_BYTES)}), heap used peak ${mib(peakHeap)} MiB, finished streams evicted ${evicted}`,
    );
    expect(proc.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(peakRetained).toBeLessThanOrEqual(defaults.STREAMS_MAX_RETAINED_BYTES);
    // Without the budget these logs would hold more than it allows (a kept token: its text, a
    // word of ~5 characters, plus TOKEN_ENTRY_OVERHEAD_BYTES; at most STREAM_MAX_FRAMES a log).
    const kept = Math.min(TOKENS, defaults.STREAM_MAX_FRAMES) * (5 + TOKEN_ENTRY_OVERHEAD_BYTES);
    expect(ROUNDS * CONCURRENT * kept).toBeGreaterThan(defaults.STREAMS_MAX_RETAINED_BYTES);
    expect(evicted).toBeGreaterThan(0);
  }, 180_000);
});
