// All three flows at once, as one process would see them: SSE chat (timed per token through the
// k6/x/sse extension), WebSocket chat and tool approvals, each its own scenario with its own VUs
// and thresholds on its own `flow` tag.
//   k6 run -e BASE_URL=http://localhost:8080 -e SSE_VUS=60 -e WS_VUS=30 -e APPROVAL_VUS=10 load/k6/mixed.js
import { sleep } from 'k6';
import {
  APPROVAL_P95_MS,
  DURATION,
  GAP_P95_MS,
  PAUSE,
  TTFT_P95_MS,
  VUS,
  envNumber,
} from './lib/config.js';
import { approvalFlow } from './lib/approval-flow.js';
import { sseChat } from './lib/sse-flow.js';
import { wsChat } from './lib/ws-flow.js';

// By default VUS is split 60 / 30 / 10 %, at least one VU each; each count can be set alone.
const share = (/** @type {number} */ part) => Math.max(1, Math.round(VUS * part));
const SSE_VUS = envNumber('SSE_VUS', share(0.6));
const WS_VUS = envNumber('WS_VUS', share(0.3));
const APPROVAL_VUS = envNumber('APPROVAL_VUS', share(0.1));

/**
 * @param {number} vus
 * @param {string} exec the exported function this scenario runs
 * @returns {import('k6/options').ConstantVUsScenario}
 */
const scenario = (vus, exec) => ({ executor: 'constant-vus', vus, duration: DURATION, exec, gracefulStop: '60s' });

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    sse: scenario(SSE_VUS, 'sse'),
    ws: scenario(WS_VUS, 'ws'),
    approval: scenario(APPROVAL_VUS, 'approval'),
  },
  thresholds: {
    tw_stream_errors: ['rate<0.01'],
    'tw_stream_errors{flow:sse}': ['rate<0.01'],
    'tw_stream_errors{flow:ws}': ['rate<0.01'],
    'tw_stream_errors{flow:approval}': ['rate<0.01'],
    checks: ['rate>0.99'],
    'tw_time_to_first_token{flow:sse}': [`p(95)<${TTFT_P95_MS}`],
    'tw_time_to_first_token{flow:ws}': [`p(95)<${TTFT_P95_MS}`],
    'tw_inter_token_gap{flow:sse}': [`p(95)<${GAP_P95_MS}`],
    'tw_inter_token_gap{flow:ws}': [`p(95)<${GAP_P95_MS}`],
    tw_approval_round_trip: [`p(95)<${APPROVAL_P95_MS}`],
  },
};

export function sse() {
  sseChat();
  if (PAUSE > 0) sleep(PAUSE);
}

export function ws() {
  wsChat();
  if (PAUSE > 0) sleep(PAUSE);
}

export function approval() {
  approvalFlow();
  if (PAUSE > 0) sleep(PAUSE);
}
