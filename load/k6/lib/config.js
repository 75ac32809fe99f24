// Settings for every k6 script, from `-e NAME=value` (or the environment with
// --include-system-env-vars). Plain ES2017 so any k6 from v0.4x to v1.x runs it.

/**
 * A string setting, or its fallback when unset or blank.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

/**
 * A number setting; a value that is not a number stops the test at start, naming the variable.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envNumber(name, fallback) {
  const raw = envString(name, '');
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!isFinite(value) || value < 0) throw new Error(`${name}=${JSON.stringify(raw)}: expected a non-negative number`);
  return value;
}

/** The HTTP base, e.g. http://localhost:8080 behind nginx; no trailing slash. */
export const BASE_URL = envString('BASE_URL', 'http://localhost:3000').replace(/\/+$/, '');
/** The WebSocket endpoint; by default BASE_URL with ws(s):// and /ws. */
export const WS_URL = envString('WS_URL', `${BASE_URL.replace(/^http/, 'ws')}/ws`);
/** Virtual users per scenario (mixed.js splits them, see there). */
export const VUS = envNumber('VUS', 10);
/** How long each scenario runs, as a k6 duration: 30s, 5m, 1h. */
export const DURATION = envString('DURATION', '30s');
/** Tokens the simulated model produces per stream (`options.simulate.tokens`). */
export const TOKENS = envNumber('TOKENS', 50);
/** Streams one WebSocket connection runs one after the other before it closes. */
export const STREAMS_PER_CONNECTION = Math.max(1, envNumber('STREAMS_PER_CONNECTION', 1));
/** Seconds a virtual user waits between iterations (think time); 0 for none. */
export const PAUSE = envNumber('PAUSE', 1);
/** Give up on one stream after this many milliseconds (it then counts as an error). */
export const STREAM_TIMEOUT_MS = envNumber('STREAM_TIMEOUT_MS', 60000);

// Threshold bounds, in milliseconds. The simulated model waits SIM_FIRST_TOKEN_MS (150) before
// its first token, so the defaults leave room for queueing, not for a slow server.
/** p95 bound on time to first token (WebSocket). */
export const TTFT_P95_MS = envNumber('TTFT_P95_MS', 1000);
/** p95 bound on the gap between two tokens of one stream (WebSocket). */
export const GAP_P95_MS = envNumber('GAP_P95_MS', 250);
/** p95 bound on approve sent → tool_result received. */
export const APPROVAL_P95_MS = envNumber('APPROVAL_P95_MS', 500);
/** p95 bound on SSE response headers (http_req_waiting), which the server flushes at once. */
export const SSE_HEADERS_P95_MS = envNumber('SSE_HEADERS_P95_MS', 500);

/** @typedef {{ messages: { role: string, content: string }[], tools?: string[], options?: { simulate: { tokens: number } } }} ChatRequest */

/**
 * A chat request body; the simulated model answers a plain prompt with exactly TOKENS tokens.
 * @param {string} content
 * @returns {ChatRequest}
 */
export function chatRequest(content) {
  return { messages: [{ role: 'user', content }], options: { simulate: { tokens: TOKENS } } };
}

/**
 * A client id for a WebSocket `start` frame, unique across VUs and iterations (≤ 64 chars).
 * @param {number} n
 * @returns {string}
 */
export function clientId(n) {
  return `k6-${__VU}-${__ITER}-${n}`;
}
