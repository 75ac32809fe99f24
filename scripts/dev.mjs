#!/usr/bin/env node
// `npm run dev`: the demo and the server, rebuilt as you edit. The demo is built once into
// dist/dev-demo (the server serves its DEMO_DIR only if it exists when it starts), then Vite rebuilds it on every change
// (`vite build --watch`; reload the page) while tsx restarts the server on every server change.
// Ctrl-C stops both. `vite` alone (port 5173, proxying to :3000) is the other way, with HMR off.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runServer } from './announce.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules/.bin', name);
// Its own folder: a dev session never rewrites the dist/demo that `npm start` and the tests serve.
const outDir = join(root, 'dist/dev-demo');

console.log('tokenwire dev: building the demo…');
const first = spawnSync(bin('vite'), ['build', '--outDir', outDir, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
if (first.status !== 0) process.exit(first.status ?? 1);

const vite = spawn(bin('vite'), ['build', '--watch', '--outDir', outDir, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
const server = runServer(bin('tsx'), ['watch', '--clear-screen=false', 'server/standalone/main.ts'], {
  cwd: root,
  env: { ...process.env, DEMO_DIR: outDir },
  onListening: (url) => console.log(`tokenwire dev: demo at ${url}  (rebuilt on save: reload the page; Ctrl-C stops)`),
  // tsx would wait for a file change; a configuration error needs the person instead.
  onConfigError: () => stop(2),
});
function stop(code) {
  vite.kill('SIGTERM');
  server.kill('SIGTERM');
  process.exit(code);
}
vite.on('exit', (code) => stop(code ?? 1));
server.on('exit', (code) => stop(code ?? 1));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
