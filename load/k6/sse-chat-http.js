// SSE load with plain k6 (no extension): VUS virtual users POST /api/chat for DURATION, each
// stream TOKENS tokens long. k6/http hands back the body only at its end, so this measures
// headers and whole streams, not tokens; sse-chat.js (k6/x/sse) times every token.
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=1m load/k6/sse-chat-http.js
import { sleep } from 'k6';
import { DURATION, PAUSE, SSE_HEADERS_P95_MS, VUS } from './lib/config.js';
import { sseChatHttp } from './lib/sse-http-flow.js';

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
  sseChatHttp();
  if (PAUSE > 0) sleep(PAUSE);
}
