/**
 * A load-generator process, forked by the coordinator (client-pool.ts). It runs the levels it
 * is sent, one at a time, and reports each; it exits when told to or when its parent goes away.
 */
import { runLevel } from './level-runner.js';
import type { WorkerMessage, WorkerTask } from './types.js';

const worker = Number(process.env.BENCH_WORKER ?? '0');
const send = (message: WorkerMessage) => process.send?.(message);

let release: (() => void) | undefined;

process.on('message', (task: WorkerTask) => {
  if (task.type === 'exit') process.exit(0);
  if (task.type === 'release') {
    release?.();
    return;
  }
  const released = new Promise<void>((resolve) => (release = resolve));
  runLevel(task, { opened: send, released }).then(send, (error: unknown) => {
    process.stderr.write(`bench worker ${worker}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});

// The coordinator died or closed the channel: nothing left to report to.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', worker });
