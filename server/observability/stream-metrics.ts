import type { Transport } from '../../shared/protocol.js';
import type { Metrics } from './metrics.js';
import type { Stream, StreamRecord } from '../streams/hub.js';

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
 * Times a stream's tokens as the hub appends them: time to first token from when
 * the stream was accepted, then the gap before each further token of the same model turn
 * (a tool round starts a new turn, so an approval wait is not a gap); counts error frames by
 * code. Per token: one clock read, a subtraction and a bucket search on a histogram child
 * whose labels were resolved once (token-histogram.ts).
 */
export function observeStream(stream: Stream, metrics: Metrics, labels: { transport: Transport; model: string }): void {
  new StreamTimer(stream, metrics, metrics.timeToFirstToken.labels(labels), metrics.interTokenGap.labels(labels));
}

type Histogram = ReturnType<Metrics['timeToFirstToken']['labels']>;

/**
 * One stream's timing state. A class: as a closure it was a function, its scope and
 * a clock object for every stream, parked ones too; here one object and its bound listener.
 * `last` is a field: a double assigned to a closure's variable is a new heap number per token,
 * a field's is updated in place (17 B of garbage per token).
 */
class StreamTimer {
  private readonly acceptedAt = performance.now();
  private first = true;
  private last = Number.NaN;
  private readonly unsubscribe: () => void;

  constructor(
    stream: Stream,
    private readonly metrics: Metrics,
    private readonly ttft: Histogram,
    private readonly gap: Histogram,
  ) {
    this.unsubscribe = stream.subscribe(this.onRecord.bind(this));
  }

  private onRecord({ frame }: StreamRecord): void {
    if (frame.type === 'token') {
      const now = performance.now();
      if (this.first) this.ttft.observe((now - this.acceptedAt) / 1000);
      else if (!Number.isNaN(this.last)) this.gap.observe((now - this.last) / 1000);
      this.first = false;
      this.last = now;
    } else if (frame.type === 'tool_call' || frame.type === 'tool_result') {
      this.last = Number.NaN;
    } else if (frame.type === 'error') {
      this.metrics.errors.inc({ code: frame.code });
    } else if (frame.type === 'done') {
      this.unsubscribe();
    }
  }
}
