// WebSocket load: VUS virtual users each open /ws, run STREAMS_PER_CONNECTION streams of TOKENS
// tokens, and time the first token and every gap between tokens.
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=1m load/k6/ws-chat.js
import { sleep } from 'k6';
import { DURATION, GAP_P95_MS, PAUSE, TTFT_P95_MS, VUS } from './lib/config.js';
import { wsChat } from './lib/ws-flow.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    ws: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '60s' },
  },
  thresholds: {
    tw_stream_errors: ['rate<0.01'],
    checks: ['rate>0.99'],
    tw_time_to_first_token: [`p(95)<${TTFT_P95_MS}`],
    tw_inter_token_gap: [`p(95)<${GAP_P95_MS}`],
  },
};

export default function () {
  wsChat();
  if (PAUSE > 0) sleep(PAUSE);
}
