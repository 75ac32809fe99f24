// The tool approval round trip over WebSocket: ask for the weather, approve each tool call,
// time approve → tool_result, read the answer to `done`.
import { check } from 'k6';
import { STREAM_TIMEOUT_MS, clientId } from './config.js';
import { approvalRoundTrip, streamDuration, streamErrors, timeToToolCall, tokens } from './metrics.js';
import { parseJson } from './parse.js';
import { isRefusedStart, reportRefusedStart } from './refused-start.js';
import { connect } from './ws-connect.js';

const TAGS = { flow: 'approval' };

/** One approval flow on its own connection. */
export function approvalFlow() {
  const id = clientId(1);
  let sentAt = 0;
  let streamId = '';
  let toolCalls = 0;
  let results = 0;
  let resultsOk = 0;
  let tokenCount = 0;
  let failed = false;
  /** @type {any} */
  let done;
  /** @type {{ [callId: string]: number }} */
  const approvedAt = {};

  const res = connect((socket) => {
    socket.on('open', () => {
      sentAt = Date.now();
      const start = {
        type: 'start',
        id,
        messages: [{ role: 'user', content: "What's the weather in Paris?" }],
        tools: ['get_weather'],
      };
      socket.send(JSON.stringify(start));
    });
    socket.on('message', (message) => {
      const now = Date.now();
      const frame = parseJson(message);
      if (!frame || typeof frame.type !== 'string') {
        failed = true;
        return;
      }
      if (frame.type === 'start' && frame.id === id) streamId = frame.streamId;
      if (isRefusedStart(frame, id, streamId)) {
        reportRefusedStart('approval', frame);
        failed = true;
        socket.close();
        return;
      }
      if (frame.streamId && streamId && frame.streamId !== streamId) return;
      if (frame.type === 'tool_call') {
        if (toolCalls === 0) timeToToolCall.add(now - sentAt, TAGS);
        toolCalls += 1;
        // A tool marked safe runs without a decision; approving it would be refused.
        if (frame.approval === 'required') {
          approvedAt[frame.callId] = Date.now();
          socket.send(JSON.stringify({ type: 'approve', callId: frame.callId }));
        }
      } else if (frame.type === 'tool_result') {
        results += 1;
        if (frame.ok) resultsOk += 1;
        const at = approvedAt[frame.callId];
        if (at !== undefined) approvalRoundTrip.add(now - at, TAGS);
      } else if (frame.type === 'token') {
        tokenCount += 1;
      } else if (frame.type === 'error') {
        failed = true;
      } else if (frame.type === 'done') {
        done = frame;
        streamDuration.add(now - sentAt, TAGS);
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), STREAM_TIMEOUT_MS);
  }, TAGS);

  tokens.add(tokenCount, TAGS);
  const ok = check(
    res,
    {
      'approval: upgraded (101)': (r) => r !== undefined && r.status === 101,
      'approval: tool_call received': () => toolCalls > 0,
      'approval: every tool_result ok': () => results === toolCalls && resultsOk === results,
      'approval: ends with done (stop)': () => Boolean(done && done.reason === 'stop') && !failed,
    },
    TAGS,
  );
  streamErrors.add(!ok, TAGS);
}
