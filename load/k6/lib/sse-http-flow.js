// One SSE chat with plain k6: POST /api/chat, then read the whole event stream k6 hands back
// at its end. For per-token timings use sse-flow.js (the k6/x/sse extension).
import { check } from 'k6';
import http from 'k6/http';
import { BASE_URL, STREAM_TIMEOUT_MS, TOKENS, chatRequest } from './config.js';
import { sseHeaders, streamDuration, streamErrors, tokens } from './metrics.js';
import { parseJson, parseSse } from './parse.js';

const TAGS = { flow: 'sse' };

/**
 * Runs one stream over SSE and records it. Plain k6 buffers the body, so only whole-response
 * timings exist here: http_req_waiting (≈ headers, which the server flushes at once, not the
 * first token) and the total duration. Time to first token over SSE needs xk6-sse (README).
 */
export function sseChatHttp() {
  const res = http.post(`${BASE_URL}/api/chat`, JSON.stringify(chatRequest('Tell me a story about a load balancer.')), {
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    timeout: STREAM_TIMEOUT_MS,
    tags: { name: 'POST /api/chat', flow: 'sse' },
  });
  const body = typeof res.body === 'string' ? res.body : '';
  /** @type {any[]} */
  const frames = res.status === 200 ? parseSse(body).map((e) => parseJson(e.data)) : [];
  let tokenCount = 0;
  let errorFrames = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    if (frame && frame.type === 'token') tokenCount += 1;
    if (!frame || frame.type === 'error') errorFrames += 1;
  }
  const last = frames.length > 0 ? frames[frames.length - 1] : undefined;

  const ok = check(
    res,
    {
      'sse: status 200': (r) => r.status === 200,
      'sse: text/event-stream': (r) => String(r.headers['Content-Type'] || '').indexOf('text/event-stream') === 0,
      'sse: ends with done (stop)': () => Boolean(last && last.type === 'done' && last.reason === 'stop'),
      'sse: no error frame': () => errorFrames === 0,
      'sse: every token asked for': () => tokenCount === TOKENS,
    },
    TAGS,
  );
  streamErrors.add(!ok, TAGS);
  tokens.add(tokenCount, TAGS);
  if (res.status === 200) {
    sseHeaders.add(res.timings.waiting, TAGS);
    streamDuration.add(res.timings.duration, TAGS);
  }
}
