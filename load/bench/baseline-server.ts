/**
 * The baseline the bench compares tokenwire with: the straightforward way to stream model
 * tokens from Express. No protocol, no stream log, no resume, no backpressure bound, no
 * validation, no metrics: one `res.write` per token on the same drift-free schedule as the
 * simulated model (token i due at first + i / rate), with the same words. A plain `ws`
 * endpoint does the same over WebSocket: one text message per token, then a close.
 *
 *   POST /chat  {"prompt": "...", "tokens": N}  → text/plain, one "<token>\n" per write
 *   GET  /ws    send {"prompt": "...", "tokens": N} → N text messages, then close 1000
 *   either may add "tokensPerSecond": its own pace instead of SIM_TOKENS_PER_SECOND
 *
 * Environment: PORT, HOST, SIM_TOKENS_PER_SECOND, SIM_FIRST_TOKEN_MS (as tokenwire reads them).
 */
import { createServer } from 'node:http';
import express from 'express';
import { WebSocketServer } from 'ws';
import { storyTokens } from '../../server/models/simulated-text.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const rate = Number(process.env.SIM_TOKENS_PER_SECOND ?? 30);
const firstTokenMs = Number(process.env.SIM_FIRST_TOKEN_MS ?? 0);
const defaultIntervalMs = 1000 / rate;
/** A request's own pace (start-path.ts's running streams), as tokenwire's `simulate.tokensPerSecond`. */
const intervalOf = (tokensPerSecond: unknown) => (typeof tokensPerSecond === 'number' && tokensPerSecond > 0 ? 1000 / tokensPerSecond : defaultIntervalMs);

/** Calls `write` for each token on the simulated model's schedule; returns a function that stops it. */
function schedule(prompt: string, tokens: number, write: (token: string) => void, end: () => void, intervalMs = defaultIntervalMs): () => void {
  const words = storyTokens(prompt);
  const started = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    timer = undefined;
    while (sent < tokens) {
      if (sent > 0) {
        const wait = started + firstTokenMs + sent * intervalMs - performance.now();
        if (wait > 1) {
          timer = setTimeout(tick, wait);
          return;
        }
      }
      write(words.next().value as string);
      sent++;
    }
    end();
  };
  timer = setTimeout(tick, firstTokenMs);
  return () => clearTimeout(timer);
}

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.post('/chat', express.json(), (req, res) => {
  const { prompt = '', tokens = 50, tokensPerSecond } = req.body as { prompt?: string; tokens?: number; tokensPerSecond?: number };
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const stop = schedule(prompt, tokens, (token) => res.write(`${token}\n`), () => res.end(), intervalOf(tokensPerSecond));
  res.on('close', stop);
});

const server = createServer(app);
server.requestTimeout = 0;
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => {
  let stop: (() => void) | undefined;
  socket.once('message', (data) => {
    const { prompt = '', tokens = 50, tokensPerSecond } = JSON.parse(String(data)) as { prompt?: string; tokens?: number; tokensPerSecond?: number };
    stop = schedule(prompt, tokens, (token) => socket.send(token), () => socket.close(1000), intervalOf(tokensPerSecond));
  });
  socket.on('close', () => stop?.());
  socket.on('error', () => stop?.());
});

server.listen(port, host);
// Exit through process.exit so `--cpu-prof` writes its profile.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
