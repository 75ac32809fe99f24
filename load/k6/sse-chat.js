// SSE load: VUS virtual users POST /api/chat for DURATION, each stream TOKENS tokens long.
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=1m load/k6/sse-chat.js
import { sleep } from 'k6';
import { DURATION, PAUSE, SSE_HEADERS_P95_MS, VUS } from './lib/config.js';
import { sseChat } from './lib/sse-flow.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    sse: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '60s' },
  },
  thresholds: {
    tw_stream_errors: ['rate<0.01'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    tw_sse_headers: [`p(95)<${SSE_HEADERS_P95_MS}`],
  },
};

export default function () {
  sseChat();
  if (PAUSE > 0) sleep(PAUSE);
}
