import type { Transport } from '../shared/protocol.js';
import type { Metrics } from './metrics.js';
import type { Stream } from './streams/hub.js';

/** Models named on metrics before the rest share `other`: the model name comes from clients. */
const MAX_MODEL_LABELS = 32;

/** Bounds the `model` label's values, so a client naming random models cannot grow the registry. */
export function createModelLabel(max = MAX_MODEL_LABELS): (model: string) => string {
  const seen = new Set<string>();
  return (model) => {
    if (seen.has(model)) return model;
    if (seen.size >= max) return 'other';
    seen.add(model);
    return model;
  };
}

/**
 * Times a stream's tokens as the hub appends them (issue 12): time to first token from when
 * the stream was accepted, then the gap before each further token of the same model turn
 * (a tool round starts a new turn, so an approval wait is not a gap); counts error frames by
 * code. Per token: one clock read, a subtraction and a bucket search on a histogram child
 * whose labels were resolved once (token-histogram.ts).
 */
export function observeStream(stream: Stream, metrics: Metrics, labels: { transport: Transport; model: string }): void {
  const ttft = metrics.timeToFirstToken.labels(labels);
  const gap = metrics.interTokenGap.labels(labels);
  const acceptedAt = performance.now();
  let first = true;
  // A field, not a `let`: a double assigned to a closure's variable is a new heap number per
  // token, a field's is updated in place (issue 14: 17 B of garbage per token).
  const clock = { last: Number.NaN };
  const unsubscribe = stream.subscribe(({ frame }) => {
    if (frame.type === 'token') {
      const now = performance.now();
      if (first) ttft.observe((now - acceptedAt) / 1000);
      else if (!Number.isNaN(clock.last)) gap.observe((now - clock.last) / 1000);
      first = false;
      clock.last = now;
    } else if (frame.type === 'tool_call' || frame.type === 'tool_result') {
      clock.last = Number.NaN;
    } else if (frame.type === 'error') {
      metrics.errors.inc({ code: frame.code });
    } else if (frame.type === 'done') {
      unsubscribe();
    }
  });
}
