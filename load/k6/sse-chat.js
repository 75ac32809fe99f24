// SSE load, timed per token by k6 itself through the k6/x/sse extension (a k6 built with
// xk6-sse; see README.md): VUS virtual users POST /api/chat for DURATION, each stream TOKENS
// tokens long. Without the extension, run sse-chat-http.js (whole-response timings only).
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=1m load/k6/sse-chat.js
import { sleep } from 'k6';
import { DURATION, GAP_P95_MS, PAUSE, TTFT_P95_MS, VUS } from './lib/config.js';
import { sseChat } from './lib/sse-flow.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    sse: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '60s' },
  },
  thresholds: {
    tw_stream_errors: ['rate<0.01'],
    checks: ['rate>0.99'],
    tw_time_to_first_token: [`p(95)<${TTFT_P95_MS}`],
    tw_inter_token_gap: [`p(95)<${GAP_P95_MS}`],
  },
};

export default function () {
  sseChat();
  if (PAUSE > 0) sleep(PAUSE);
}
