import type { ChildProcess } from 'node:child_process';

/**
 * Every process the bench starts, so that none outlives it: on a normal end, an error, an
 * uncaught exception or Ctrl-C, each is killed by its own pid (never by name).
 */
const children = new Map<number, { child: ChildProcess; name: string }>();

export function track(child: ChildProcess, name: string): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  children.set(pid, { child, name });
  child.once('exit', () => children.delete(pid));
}

const exitHooks = new Set<() => void>();

/** Runs `hook` (synchronous) when the bench exits, however it exits; returns a function that cancels it. */
export function onExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

/** Kills every child still running, at once (SIGKILL), and runs the exit hooks; safe in an `exit` handler. */
export function killAllNow(): void {
  for (const hook of [...exitHooks]) {
    exitHooks.delete(hook);
    try {
      hook();
    } catch {
      // best effort
    }
  }
  for (const [pid, { child }] of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

let installed = false;

/** Installs the exit, SIGINT and SIGTERM handlers once; `onSignal` runs before the process exits. */
export function installCleanup(onSignal: (signal: NodeJS.Signals) => void): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      onSignal(signal);
      killAllNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error.stack ?? String(error)}\n`);
    killAllNow();
    process.exit(1);
  });
}
