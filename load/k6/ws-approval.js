// Tool approval load: each iteration asks "What's the weather in Paris?" over /ws with the
// get_weather tool, approves every tool call and times approve → tool_result.
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=20 load/k6/ws-approval.js
import { sleep } from 'k6';
import { APPROVAL_P95_MS, DURATION, PAUSE, VUS } from './lib/config.js';
import { approvalFlow } from './lib/approval-flow.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    approval: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '60s' },
  },
  thresholds: {
    tw_stream_errors: ['rate<0.01'],
    checks: ['rate>0.99'],
    tw_approval_round_trip: [`p(95)<${APPROVAL_P95_MS}`],
  },
};

export default function () {
  approvalFlow();
  if (PAUSE > 0) sleep(PAUSE);
}
