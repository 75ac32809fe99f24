import { spawn, type ChildProcess } from 'node:child_process';
import { track } from './processes.js';
import { ROOT, type Runner } from './servers.js';
import type { LevelTask, WorkerMessage, WorkerOpened, WorkerReport } from './types.js';

const WORKER = 'load/bench/client-worker.ts';

/** The load generator: several forked client processes that run each level's streams between them. */
export interface ClientPool {
  readonly size: number;
  readonly pids: number[];
  /** Runs a stream level on every worker; resolves with one report per worker. */
  run(task: Omit<LevelTask, 'worker' | 'workers'>): Promise<WorkerReport[]>;
  /**
   * Idle mode: opens the connections, calls `whileOpen` once every worker holds them, then
   * releases them; resolves with what was opened and the workers' reports.
   */
  hold(task: Omit<LevelTask, 'worker' | 'workers'>, whileOpen: (opened: WorkerOpened[]) => Promise<void>): Promise<{ opened: WorkerOpened[]; reports: WorkerReport[] }>;
  close(): Promise<void>;
}

interface Worker {
  child: ChildProcess;
  waiters: Set<(message: WorkerMessage) => void>;
}

/** Waits for all; a rejection is still reported, but the others are not left to reject unhandled. */
function allOf<T>(promises: Promise<T>[]): Promise<T[]> {
  for (const p of promises) p.catch(() => {});
  return Promise.all(promises);
}

function nextMessage<T extends WorkerMessage['type']>(worker: Worker, type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.waiters.delete(waiter);
      reject(new Error(`bench worker ${worker.child.pid}: no '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const waiter = (message: WorkerMessage) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      worker.waiters.delete(waiter);
      resolve(message as Extract<WorkerMessage, { type: T }>);
    };
    worker.waiters.add(waiter);
  });
}

/** Starts `size` client worker processes with an IPC channel and waits until each says it is ready. */
export async function startClientPool(size: number, runner: Runner): Promise<ClientPool> {
  const workers: Worker[] = [];
  for (let i = 0; i < size; i++) {
    const child = spawn(process.execPath, runner.args(WORKER), {
      cwd: ROOT,
      env: { ...process.env, BENCH_WORKER: String(i) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child, `client worker ${i}`);
    const worker: Worker = { child, waiters: new Set() };
    child.on('message', (message: WorkerMessage) => {
      for (const waiter of [...worker.waiters]) waiter(message);
    });
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => nextMessage(w, 'ready', 30_000)));

  const timeoutOf = (task: Omit<LevelTask, 'worker' | 'workers'>) => Math.max(0, task.deadline - Date.now()) + 15_000;
  const dispatch = (task: Omit<LevelTask, 'worker' | 'workers'>, worker: number) =>
    workers[worker]?.child.send({ ...task, worker, workers: size } satisfies LevelTask);

  return {
    size,
    pids: workers.map((w) => w.child.pid ?? 0),
    async run(task) {
      const reports = workers.map((w) => nextMessage(w, 'report', timeoutOf(task)));
      workers.forEach((_, i) => dispatch(task, i));
      return allOf(reports);
    },
    async hold(task, whileOpen) {
      const reports = allOf(workers.map((w) => nextMessage(w, 'report', timeoutOf(task))));
      const opened = workers.map((w) => nextMessage(w, 'opened', timeoutOf(task)));
      workers.forEach((_, i) => dispatch(task, i));
      const release = () => {
        for (const w of workers) if (w.child.connected) w.child.send({ type: 'release' });
      };
      try {
        const all = await allOf(opened);
        await whileOpen(all);
        release();
        return { opened: all, reports: await reports };
      } catch (error) {
        release();
        throw error;
      }
    },
    async close() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
              const timer = setTimeout(() => {
                w.child.kill('SIGKILL');
                resolve();
              }, 2_000);
              w.child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              w.child.send({ type: 'exit' });
            }),
        ),
      );
    },
  };
}
