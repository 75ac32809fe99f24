import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../server/observability/metrics.js';
import { createModelLabel, observeStream } from '../../server/observability/stream-metrics.js';
import { createTestHub } from '../helpers/hub.js';

const hub = () => createTestHub({ ttlMs: 60_000 });

describe('stream metrics', () => {
  it('observes time to first token once and one gap per later token of a turn; a tool round is not a gap', async () => {
    const metrics = createMetrics();
    const stream = hub().create({ model: 'm', transport: 'ws' });
    observeStream(stream, metrics, { transport: 'ws', model: 'm' });
    for (const text of ['a', 'b', 'c']) stream.append({ type: 'token', text });
    stream.append({ type: 'tool_call', callId: 'c1', name: 't', args: {}, approval: 'not_required' });
    stream.append({ type: 'tool_result', callId: 'c1', ok: true });
    stream.append({ type: 'token', text: 'd' });
    stream.append({ type: 'error', code: 'upstream_error', message: 'x', retryable: true });
    stream.append({ type: 'done', reason: 'error' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('tokenwire_time_to_first_token_seconds_count{transport="ws",model="m"} 1');
    expect(text).toContain('tokenwire_inter_token_seconds_count{transport="ws",model="m"} 2');
    expect(text).toContain('tokenwire_errors_total{code="upstream_error"} 1');
  });

  it('bounds the model label: past the bound every new model is `other`', () => {
    const label = createModelLabel(2);
    expect(['a', 'b', 'c', 'a', 'd'].map(label)).toEqual(['a', 'b', 'other', 'a', 'other']);
  });

  it('costs little per token: appending with the observer stays within 1.5 µs a token of appending without', () => {
    const tokens = 200_000;
    const run = (observed: boolean) => {
      const metrics = createMetrics();
      const stream = hub().create({ model: 'm', transport: 'sse' });
      if (observed) observeStream(stream, metrics, { transport: 'sse', model: 'm' });
      const started = performance.now();
      for (let i = 0; i < tokens; i++) stream.append({ type: 'token', text: 'x' });
      return performance.now() - started;
    };
    run(true);
    run(false);
    // Best of three each, so a busy machine's hiccup does not decide.
    const bare = Math.min(run(false), run(false), run(false));
    const observed = Math.min(run(true), run(true), run(true));
    const perTokenNs = ((observed - bare) / tokens) * 1e6;
    console.log(`per-token metrics cost: ${perTokenNs.toFixed(0)} ns (append alone: ${((bare / tokens) * 1e6).toFixed(0)} ns)`);
    expect(perTokenNs).toBeLessThan(1_500);
  });
});
