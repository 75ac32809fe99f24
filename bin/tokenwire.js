#!/usr/bin/env node
// `npx tokenwire start`: the standalone server (dist/server/standalone/main.js), configured by environment
// variables (README, Configuration), run with the V8 flags it is measured with
// (scripts/node-flags.json). Signals go on to the server, so a supervisor's SIGTERM drains it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: tokenwire start

Runs the tokenwire server (SSE, WebSocket, the demo page at /), configured by environment
variables: PORT (3000), HOST, OPENAI_API_KEY (else the simulated model), REDIS_URL, AUTH, …
`;

const args = process.argv.slice(2);
if (args.length !== 1 || args[0] !== 'start') {
  process.stderr.write(USAGE);
  process.exit(2);
}

// REDIS_URL needs ioredis, an optional peer: say so plainly instead of a module-not-found trace.
if (process.env.REDIS_URL) {
  try {
    import.meta.resolve('ioredis');
  } catch {
    process.stderr.write('tokenwire: REDIS_URL is set, which needs the ioredis package: npm install ioredis\n');
    process.exit(2);
  }
}

const flags = JSON.parse(readFileSync(new URL('../scripts/node-flags.json', import.meta.url), 'utf8'));
const entry = fileURLToPath(new URL('../dist/server/standalone/main.js', import.meta.url));
const server = spawn(process.execPath, [...flags, '--enable-source-maps', entry], { stdio: 'inherit' });

const forward = (signal) => server.kill(signal);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
server.on('exit', (code, signal) => {
  if (code !== null) process.exit(code);
  process.exit(128 + (constants.signals[signal] ?? 0));
});
