import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';

// With WORKERS=N a scrape of /metrics lands on one worker. prom-client's way for node:cluster:
// the primary gathers every worker's registry as JSON over IPC and merges them with
// `AggregatorRegistry.aggregate` (sums, unless a metric names another `aggregator`). Here the
// worker that took the scrape asks the primary for that text, so /metrics on the shared port
// answers for the whole fleet. Only workers that listen are asked: one still booting has no
// registry yet, and waiting for it would fail the scrape.

/** A worker asks the primary for the fleet's metrics text. */
const ASK = 'tokenwire:metrics-ask';
/** The primary answers it. */
const ANSWER = 'tokenwire:metrics-answer';
/** The primary asks each worker for its registry as JSON. */
const COLLECT = 'tokenwire:metrics-collect';
/** A worker answers that. */
const COLLECTED = 'tokenwire:metrics-collected';
/** How long the primary waits for every worker's JSON; a worker waits a little longer for the text. */
const COLLECT_TIMEOUT_MS = 5_000;
const ASK_TIMEOUT_MS = 6_000;

/** One registry as `getMetricsAsJSON` gives it: what `AggregatorRegistry.aggregate` merges. */
type Metrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
type Message = { type: string; id: number; text?: string; error?: string; metrics?: Metrics };

const messageOf = (value: unknown, type: string): Message | undefined => {
  const message = value as Message | null;
  return message?.type === type && typeof message.id === 'number' ? message : undefined;
};

/** In the primary: answers a worker's ask with every listening worker's metrics, aggregated. */
export function serveClusterMetrics(): void {
  const listening = new Set<Worker>();
  const gathering = new Map<number, { wanted: number; got: Metrics[]; done: (error?: Error) => void }>();
  let nextId = 0;
  cluster.on('listening', (worker) => void listening.add(worker));
  cluster.on('exit', (worker) => void listening.delete(worker));

  /** Every listening worker's registry as JSON, merged into one exposition text. */
  function gather(): Promise<string> {
    const workers = [...listening].filter((w) => w.isConnected());
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${gathering.get(id)?.got.length ?? 0} of ${workers.length} workers sent their metrics within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      const done = (error?: Error) => {
        const entry = gathering.get(id);
        if (!entry) return;
        gathering.delete(id);
        clearTimeout(timer);
        if (error) reject(error);
        else AggregatorRegistry.aggregate(entry.got).metrics().then(resolve, reject);
      };
      gathering.set(id, { wanted: workers.length, got: [], done });
      if (workers.length === 0) return done();
      for (const worker of workers) worker.send({ type: COLLECT, id });
    });
  }

  cluster.on('message', (worker, raw: unknown) => {
    const collected = messageOf(raw, COLLECTED);
    if (collected) {
      const entry = gathering.get(collected.id);
      if (!entry) return;
      if (collected.error !== undefined) return entry.done(new Error(collected.error));
      entry.got.push(collected.metrics ?? []);
      if (entry.got.length === entry.wanted) entry.done();
      return;
    }
    const ask = messageOf(raw, ASK);
    if (!ask) return;
    const reply = (answer: { text?: string; error?: string }) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: ask.id, ...answer });
    };
    gather().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/**
 * In a worker: a registry whose text (`metrics()`, what /metrics answers) is the fleet's, asked
 * of the primary; what it sends the primary (`getMetricsAsJSON`) is this worker's own. A
 * primary that cannot answer fails the scrape rather than pass off one worker's numbers.
 */
export class ClusterWorkerRegistry extends Registry {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  constructor() {
    super();
    process.on('message', (raw: unknown) => {
      const collect = messageOf(raw, COLLECT);
      if (collect) {
        this.getMetricsAsJSON().then(
          (metrics) => process.send?.({ type: COLLECTED, id: collect.id, metrics }),
          (error: unknown) => process.send?.({ type: COLLECTED, id: collect.id, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
      }
      const answer = messageOf(raw, ANSWER);
      const waiter = answer && this.waiting.get(answer.id);
      if (!answer || !waiter) return;
      this.waiting.delete(answer.id);
      clearTimeout(waiter.timer);
      if (answer.text !== undefined) waiter.resolve(answer.text);
      else waiter.reject(new Error(`the primary could not gather the workers' metrics: ${answer.error ?? 'no reason given'}`));
    });
  }

  override metrics(): Promise<string> {
    if (!process.send) return super.metrics();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the primary did not answer with the workers' metrics within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      process.send?.({ type: ASK, id });
    });
  }
}
