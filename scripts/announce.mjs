// Shared by `npm start` and `npm run dev`: runs a server process, passes its output through, and
// says where the demo is only once the server listens (its "listening" log line names the URL), so
// a bad PORT or a busy port never prints a demo URL that does not answer.
import { spawn } from 'node:child_process';

/** The lines server/standalone/main.ts prints before it exits 2: configuration a person must fix. */
const CONFIG_ERROR = /^tokenwire: (invalid configuration|port \d+ is already in use|may not listen|HOST=)/m;

/**
 * Spawns `command args` with piped output; calls `onListening(url)` once, when it first listens,
 * and `onConfigError()` when the server reports a configuration error (a watcher would otherwise
 * sit waiting for a file change).
 */
export function runServer(command, args, { cwd, env = process.env, onListening, onConfigError = () => {} }) {
  const child = spawn(command, args, { cwd, env, stdio: ['inherit', 'pipe', 'pipe'] });
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    if (CONFIG_ERROR.test(chunk.toString())) onConfigError();
  });
  let announced = false;
  let pending = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (announced) return;
    pending = (pending + chunk.toString()).slice(-8192);
    const url = /"url":"(https?:[^"]+)"/.exec(pending)?.[1];
    if (!url) return;
    announced = true;
    onListening(url.replace('//127.0.0.1:', '//localhost:'));
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  return child;
}

/** Opens the demo in the desktop's browser when a person ran this in a terminal (not CI, not headless). */
export function openInBrowser(url) {
  const opener =
    process.platform === 'darwin' ? ['open'] :
    process.platform === 'win32' ? ['cmd', '/c', 'start', '""'] :
    process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? ['xdg-open'] : undefined;
  if (!opener || !process.stdout.isTTY || process.env.CI || process.env.TOKENWIRE_NO_OPEN) return;
  const [cmd, ...args] = opener;
  spawn(cmd, [...args, url], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
}
