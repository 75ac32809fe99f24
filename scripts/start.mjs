#!/usr/bin/env node
// `npm start`: build when the build is missing or older than the sources, then run the server
// (the simulated model unless OPENAI_API_KEY is set) and point the user at the demo.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist/server/main.js');
const demo = join(root, 'dist/demo/index.html');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const sources = Math.max(...['server', 'shared', 'client'].map((d) => (existsSync(join(root, d)) ? newest(join(root, d)) : 0)));
const built = existsSync(entry) && existsSync(demo) ? Math.min(statSync(entry).mtimeMs, statSync(demo).mtimeMs) : 0;
if (built < sources) {
  console.log('tokenwire: building (server and demo page)…');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const server = spawn(process.execPath, ['--enable-source-maps', entry], { cwd: root, stdio: 'inherit' });
const port = process.env.PORT ?? '3000';
const demoUrl = `http://localhost:${port}/`;
console.log(`tokenwire: demo at ${demoUrl}  (Ctrl-C stops the server)`);

// Open the demo in the desktop's browser once the server answers, when a person ran this in a
// terminal (not CI, not a headless box). TOKENWIRE_NO_OPEN=1 turns it off.
const opener =
  process.platform === 'darwin' ? ['open'] :
  process.platform === 'win32' ? ['cmd', '/c', 'start', '""'] :
  process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? ['xdg-open'] : undefined;
if (opener && process.stdout.isTTY && !process.env.CI && !process.env.TOKENWIRE_NO_OPEN) {
  const until = Date.now() + 30_000;
  const POLL_MS = 250;
  const tryOpen = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) {
        const [cmd, ...args] = opener;
        spawn(cmd, [...args, demoUrl], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() < until) setTimeout(tryOpen, POLL_MS);
  };
  void tryOpen();
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
