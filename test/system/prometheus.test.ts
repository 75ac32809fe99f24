import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/events.js';
import { postSse } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';
import { freePort, launch, startReplica, waitForHealthy, type Proc, type Replica } from './nginx-harness.js';

// Debian's prometheus scrapes a tokenwire process under a small, bounded load, and
// the time-to-first-token histogram answers PromQL through Prometheus's HTTP API.

const STREAMS_PER_TRANSPORT = 40;
const CONCURRENCY = 8;
const TOKENS = 20;

let replica: Replica;
let prometheus: Proc;
let promUrl: string;
let dir: string;

beforeAll(async () => {
  replica = await startReplica({ SIM_TOKENS_PER_SECOND: '200', SIM_FIRST_TOKEN_MS: '30', STREAM_STARTS_PER_MINUTE: '100000' });
  dir = mkdtempSync(join(tmpdir(), 'tokenwire-prom-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tokenwire\n    static_configs:\n      - targets: ['127.0.0.1:${replica.port}']\n`,
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = launch(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  );
  await waitForHealthy(`${promUrl}/-/ready`, prometheus, 'prometheus', 20_000);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await replica?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One PromQL instant query through the HTTP API: `[labels, value]` per series. */
async function query(promql: string): Promise<[Record<string, string>, number][]> {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result.map((r) => [r.metric, Number(r.value[1])]);
}

/** Runs `total` jobs, at most `limit` at a time. */
async function bounded(total: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < total) await job(next++);
  }));
}

const chat = { messages: [{ role: 'user', content: 'hi' }], options: { simulate: { tokens: TOKENS } } };

describe('Prometheus scrapes tokenwire under load (system)', () => {
  it('answers PromQL on the time-to-first-token histogram by transport', async () => {
    await bounded(STREAMS_PER_TRANSPORT, CONCURRENCY, async () => {
      const frames = await (await postSse(`${replica.url}/api/chat`, chat)).ended;
      expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    });
    const ws = await connectWs(replica.url);
    await bounded(STREAMS_PER_TRANSPORT, CONCURRENCY, async (i) => {
      ws.send({ type: 'start', id: `c${i}`, ...chat });
      const start = await ws.waitForFrame((f) => f.type === 'start' && f.id === `c${i}`);
      await ws.waitForFrame((f) => f.type === 'done' && f.streamId === start.streamId, 10_000);
    });
    ws.close();

    // Wait for the scrape that has every stream (the event), bounded; one scrape a second.
    const expected = 2 * STREAMS_PER_TRANSPORT;
    let seen = 0;
    await waitFor(async () => {
      seen = (await query('sum(tokenwire_time_to_first_token_seconds_count)'))[0]?.[1] ?? 0;
      return seen === expected;
    }, `a scrape with all ${expected} streams`, 20_000).catch(() => undefined);
    expect(seen).toBe(expected);

    const queries = {
      count: 'sum by (transport) (tokenwire_time_to_first_token_seconds_count)',
      p50: 'histogram_quantile(0.5, sum by (le, transport) (tokenwire_time_to_first_token_seconds_bucket))',
      p95: 'histogram_quantile(0.95, sum by (le, transport) (tokenwire_time_to_first_token_seconds_bucket))',
      mean: 'sum by (transport) (tokenwire_time_to_first_token_seconds_sum) / sum by (transport) (tokenwire_time_to_first_token_seconds_count)',
      gapP50: 'histogram_quantile(0.5, sum by (le) (tokenwire_inter_token_seconds_bucket))',
    };
    const answers: Record<string, Record<string, number>> = {};
    for (const [name, promql] of Object.entries(queries)) {
      answers[name] = Object.fromEntries((await query(promql)).map(([labels, value]) => [labels.transport ?? 'all', value]));
      console.log(`PromQL ${promql}\n  → ${JSON.stringify(answers[name])}`);
    }
    expect(answers.count).toEqual({ sse: STREAMS_PER_TRANSPORT, ws: STREAMS_PER_TRANSPORT });
    for (const transport of ['sse', 'ws']) {
      // The simulated model waits 30 ms before its first token; under this load well under a second.
      expect(answers.p50?.[transport]).toBeGreaterThan(0.025);
      expect(answers.p95?.[transport]).toBeLessThanOrEqual(1);
      expect(answers.mean?.[transport]).toBeGreaterThan(0.025);
    }
    // 200 tokens/s: 5 ms between tokens, in the 2.5–5 ms or 5–10 ms bucket.
    expect(answers.gapP50?.all).toBeGreaterThan(0.0025);
    expect(answers.gapP50?.all).toBeLessThan(0.025);
  }, 60_000);
});

describe('the Grafana dashboard in deploy/', () => {
  it('queries only metrics the server exports', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dashboards/tokenwire.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const names = new Set(exprs.flatMap((e) => [...e.matchAll(/\btokenwire_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))));
    const exported = await (await fetch(`${replica.url}/metrics`)).text();
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of names) expect(exported, name).toContain(`# TYPE ${name} `);
  });
});
