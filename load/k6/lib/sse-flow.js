// One SSE chat through the k6/x/sse extension (xk6-sse): POST /api/chat and time every event as
// it arrives, so k6 itself measures time to first token and inter-token gaps over SSE.
import { check } from 'k6';
import sse from 'k6/x/sse';
import { BASE_URL, STREAM_TIMEOUT_MS, TOKENS, chatRequest } from './config.js';
import { interTokenGap, streamDuration, streamErrors, timeToFirstToken, tokens } from './metrics.js';
import { parseJson } from './parse.js';

const TAGS = { flow: 'sse' };

/**
 * Runs one stream over SSE and records it: request sent → first `token` event, the gap between
 * consecutive `token` events, and request sent → `done`. Times are taken when k6 dispatches each
 * event, so they include k6's own scheduling. A stream still open after STREAM_TIMEOUT_MS is
 * closed at its next event and counts as failed.
 */
export function sseChat() {
  const sentAt = Date.now();
  let lastTokenAt = 0;
  let tokenCount = 0;
  let errorFrames = 0;
  /** @type {any} */
  let done;
  const res = sse.open(
    `${BASE_URL}/api/chat`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(chatRequest('Tell me a story about a load balancer.')),
      tags: { name: 'POST /api/chat', flow: 'sse' },
    },
    (client) => {
      client.on('event', (event) => {
        const now = Date.now();
        // The `retry:` field alone reaches scripts as an event with no name and no data.
        if (!event.name && !event.data) return;
        const frame = parseJson(event.data);
        if (!frame || frame.type !== event.name) errorFrames += 1;
        else if (frame.type === 'token') {
          if (tokenCount === 0) timeToFirstToken.add(now - sentAt, TAGS);
          else interTokenGap.add(now - lastTokenAt, TAGS);
          lastTokenAt = now;
          tokenCount += 1;
        } else if (frame.type === 'error') errorFrames += 1;
        else if (frame.type === 'done') {
          done = frame;
          streamDuration.add(now - sentAt, TAGS);
        }
        if (done || now - sentAt > STREAM_TIMEOUT_MS) client.close();
      });
      client.on('error', () => {
        errorFrames += 1;
      });
    },
  );

  const ok = check(
    res,
    {
      'sse: status 200': (r) => r !== undefined && r.status === 200,
      'sse: ends with done (stop)': () => Boolean(done && done.reason === 'stop'),
      'sse: no error frame': () => errorFrames === 0,
      'sse: every token asked for': () => tokenCount === TOKENS,
    },
    TAGS,
  );
  streamErrors.add(!ok, TAGS);
  tokens.add(tokenCount, TAGS);
}
