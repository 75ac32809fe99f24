// Custom metrics shared by the scripts, created once in the init context. Names start with
// `tw_`; every sample carries a `flow` tag (sse, ws, approval) so thresholds can pick one.
import { Counter, Rate, Trend } from 'k6/metrics';

/** 1 for a stream that failed (bad status, error frame, no `done`, timeout), else 0. */
export const streamErrors = new Rate('tw_stream_errors');
/** Token frames received. */
export const tokens = new Counter('tw_tokens');
/** Start (or request) sent → first token received: WebSocket, and SSE through k6/x/sse. */
export const timeToFirstToken = new Trend('tw_time_to_first_token', true);
/** Gap between two consecutive token frames of one stream: WebSocket, and SSE through k6/x/sse. */
export const interTokenGap = new Trend('tw_inter_token_gap', true);
/** Start sent (or request sent) → `done` received: the whole stream. */
export const streamDuration = new Trend('tw_stream_duration', true);
/** Plain-k6 SSE (sse-chat-http.js): request sent → response headers (http_req_waiting). */
export const sseHeaders = new Trend('tw_sse_headers', true);
/** Start sent → `tool_call` received. */
export const timeToToolCall = new Trend('tw_time_to_tool_call', true);
/** `approve` sent → `tool_result` received: the approval round trip. */
export const approvalRoundTrip = new Trend('tw_approval_round_trip', true);
/** Starts the server refused with an `error` frame (the flow stops waiting at once), tagged with its `code`. */
export const refusedStarts = new Counter('tw_refused_starts');
