#!/usr/bin/env node
// `npm start`: build when the build is missing or older than the sources, then run the server
// (the simulated model unless OPENAI_API_KEY is set) and point the user at the demo once it listens.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openInBrowser, runServer } from './announce.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist/server/standalone/main.js');
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

// The V8 flags tokenwire runs with everywhere (the Dockerfile's CMD, the bench): see
// scripts/node-flags.json and README "What happens in production".
const nodeFlags = JSON.parse(readFileSync(join(root, 'scripts/node-flags.json'), 'utf8'));
// TOKENWIRE_NO_OPEN=1 keeps the browser closed.
const server = runServer(process.execPath, [...nodeFlags, '--enable-source-maps', entry], {
  cwd: root,
  onListening(url) {
    console.log(`tokenwire: demo at ${url}  (Ctrl-C stops the server)`);
    openInBrowser(url);
  },
});
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
