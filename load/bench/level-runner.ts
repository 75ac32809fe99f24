import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createHistogram } from './histogram.js';
import { openStream, type StreamHandle } from './stream-clients.js';
import type { LevelTask, WorkerOpened, WorkerReport } from './types.js';

const ELD_RESOLUTION_MS = 5;

/** performance.now() of an epoch-millisecond instant in this process. */
const toLocal = (epochMs: number): number => epochMs - performance.timeOrigin;

interface Tracker {
  startedAt: number;
  /** When the first token arrived: the origin of the stream's own schedule. */
  firstAt: number;
  sentAt: number;
  last: number;
  tokens: number;
  handle: StreamHandle | undefined;
  ended: boolean;
}

/** The global stream indexes one worker runs: interleaved, so every worker shares the ramp. */
function shareOf(task: LevelTask): number[] {
  const mine: number[] = [];
  for (let g = task.worker; g < task.totalStreams; g += task.workers) mine.push(g);
  return mine;
}

/**
 * Runs one worker's share of a level. Stream mode: open each stream at its place on the ramp,
 * time its first token and every gap, and report when all have ended (or at the deadline).
 * Idle mode: open every connection, tell the coordinator, and hold them until `release`.
 */
export function runLevel(task: LevelTask, hooks: { opened(message: WorkerOpened): void; released: Promise<void> }): Promise<WorkerReport> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  // The histogram records whole intervals between its timer's runs, so the delay is each value
  // minus the resolution.
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();

  const intervalUs = 1e6 / task.tokensPerSecond;
  const windowFrom = toLocal(task.windowFrom);
  const windowTo = toLocal(task.windowTo);
  const ttft = createHistogram();
  const ttftOpenSocket = createHistogram();
  const addedSteady = createHistogram();
  const addedAll = createHistogram();
  const lagSteady = createHistogram();
  const errors = new Set<string>();
  const share = shareOf(task);
  const trackers: Tracker[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let opened = 0;
  let failed = 0;
  let completed = 0;
  let finished = 0;
  let tokens = 0;
  let tokensInWindow = 0;
  let coalesced = 0;
  let releasing = false;
  let lastFirstToken = Number.NaN;
  let firstEnd = Number.NaN;
  const startLocal = toLocal(task.startAt);
  const timeline = new Array<number>(Math.ceil((task.deadline - task.startAt) / 100) + 1).fill(0);

  return new Promise<WorkerReport>((resolve) => {
    let reported = false;
    const report = () => {
      if (reported) return;
      reported = true;
      for (const t of timers) clearTimeout(t);
      eld.disable();
      const cpu = process.cpuUsage(cpu0);
      const delayMs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, Math.round(ns / 1e3 - ELD_RESOLUTION_MS * 1e3) / 1e3) : 0);
      resolve({
        type: 'report',
        worker: task.worker,
        opened,
        completed,
        failed,
        errors: [...errors].slice(0, 5),
        tokens,
        tokensInWindow,
        coalesced,
        ttft: ttft.toData(),
        ttftOpenSocket: ttftOpenSocket.toData(),
        addedSteady: addedSteady.toData(),
        addedAll: addedAll.toData(),
        lagSteady: lagSteady.toData(),
        endedAt: performance.timeOrigin + performance.now(),
        lastFirstTokenAt: performance.timeOrigin + lastFirstToken,
        firstEndAt: performance.timeOrigin + firstEnd,
        timeline: timeline.slice(0, Math.ceil((performance.now() - startLocal) / 100) + 1),
        cpuUserMs: cpu.user / 1e3,
        cpuSystemMs: cpu.system / 1e3,
        wallMs: performance.now() - wall0,
        eventLoopDelay: { p50: delayMs(eld.percentile(50)), p99: delayMs(eld.percentile(99)), max: delayMs(eld.max) },
      });
    };

    const fail = (reason: string) => {
      failed++;
      if (errors.size < 20) errors.add(reason);
    };

    const maybeOpenedAll = () => {
      if (task.mode === 'idle' && opened + failed === share.length) {
        hooks.opened({ type: 'opened', worker: task.worker, opened, failed, errors: [...errors].slice(0, 5) });
      }
    };

    const onEnd = (tracker: Tracker, error?: string) => {
      if (tracker.ended) return;
      tracker.ended = true;
      if (releasing) return;
      finished++;
      if (task.mode === 'idle') {
        // An idle connection that ends before release failed to stay open.
        fail(error ?? 'ended while idle');
        maybeOpenedAll();
        return;
      }
      if (error) fail(error);
      else if (tracker.tokens !== task.tokensPerStream) fail(`got ${tracker.tokens} of ${task.tokensPerStream} tokens`);
      else completed++;
      if (tracker.tokens > 0 && !(firstEnd <= tracker.last)) firstEnd = tracker.last;
      if (finished === share.length) report();
    };

    const start = (g: number) => {
      const tracker: Tracker = { startedAt: performance.now(), firstAt: -1, sentAt: -1, last: -1, tokens: 0, handle: undefined, ended: false };
      trackers.push(tracker);
      tracker.handle = openStream(
        task.target,
        task.wire,
        { port: task.port, tokens: task.tokensPerStream, prompt: task.prompt, idle: task.mode === 'idle' },
        {
          open() {
            opened++;
            maybeOpenedAll();
          },
          sent(now) {
            tracker.sentAt = now;
          },
          tokens(n, now) {
            tokens += n;
            const bucket = Math.floor((now - startLocal) / 100);
            if (bucket >= 0 && bucket < timeline.length) timeline[bucket] = (timeline[bucket] ?? 0) + n;
            const inWindow = now >= windowFrom && now <= windowTo;
            if (inWindow) tokensInWindow += n;
            if (tracker.tokens === 0) {
              tracker.firstAt = now;
              if (!(lastFirstToken >= now)) lastFirstToken = now;
              ttft.record((now - tracker.startedAt) * 1e3);
              if (tracker.sentAt >= 0) ttftOpenSocket.record((now - tracker.sentAt) * 1e3);
            } else {
              // Gap received minus gap scheduled, for the first token of this chunk...
              const added = (now - tracker.last) * 1e3 - intervalUs;
              addedAll.record(added);
              if (inWindow) addedSteady.record(added);
            }
            // ...the rest of the chunk came with it: a gap of 0, so a negative added latency,
            // which counts as 0 (catching up after a late token is not latency).
            const rest = n - 1;
            if (rest > 0) {
              coalesced += rest;
              addedAll.recordMany(0, rest);
              if (inWindow) addedSteady.recordMany(0, rest);
            }
            // Lag behind the stream's own schedule (token j due at first + j / rate): unlike
            // the gaps, it grows when a server falls behind and catches up in bursts.
            if (inWindow) {
              for (let j = Math.max(1, tracker.tokens); j < tracker.tokens + n; j++) {
                lagSteady.record((now - tracker.firstAt) * 1e3 - j * intervalUs);
              }
            }
            tracker.tokens += n;
            tracker.last = now;
          },
          end: (error) => onEnd(tracker, error),
        },
      );
    };

    if (share.length === 0) {
      if (task.mode === 'idle') maybeOpenedAll();
      report();
      return;
    }
    for (const g of share) {
      const at = toLocal(task.startAt + (g * task.rampMs) / task.totalStreams) - performance.now();
      const timer = setTimeout(() => {
        timers.delete(timer);
        start(g);
      }, Math.max(0, at));
      timers.add(timer);
    }

    /** Drops every connection still open; resolves when each of their sockets has closed. */
    const closeAll = () => {
      releasing = true;
      return Promise.all(trackers.filter((t) => !t.ended).map((t) => t.handle?.close()));
    };
    const deadline = setTimeout(() => {
      // Whatever has not ended by now failed; the level's figures stay honest about it.
      for (const t of trackers) if (!t.ended) fail(task.mode === 'idle' ? 'not released before the deadline' : 'still open at the deadline');
      const notStarted = share.length - trackers.length;
      for (let i = 0; i < notStarted; i++) fail('never started before the deadline');
      void closeAll();
      report();
    }, Math.max(0, toLocal(task.deadline) - performance.now()));
    timers.add(deadline);

    if (task.mode === 'idle') {
      // Report once every released socket has closed, so the coordinator's next reading (which
      // forces a GC and waits for the server's RSS to settle) does not count them as open.
      void hooks.released.then(closeAll).then(report);
    }
  });
}
