// Chat streams over one WebSocket (k6/ws): `start`, tokens timed as each message arrives, `done`.
import { check } from 'k6';
import { STREAMS_PER_CONNECTION, STREAM_TIMEOUT_MS, TOKENS, chatRequest, clientId } from './config.js';
import { interTokenGap, streamDuration, streamErrors, timeToFirstToken, tokens } from './metrics.js';
import { parseJson } from './parse.js';
import { isRefusedStart, reportRefusedStart } from './refused-start.js';
import { connect } from './ws-connect.js';

const TAGS = { flow: 'ws' };

/**
 * @typedef {{ id: string, streamId: string, sentAt: number, lastTokenAt: number, tokens: number, failed: boolean }} WsStream
 */

/**
 * Opens one connection and runs STREAMS_PER_CONNECTION streams on it, one after the other.
 * Times are taken when k6 dispatches each message, so they include k6's own scheduling.
 */
export function wsChat() {
  let finished = 0;
  let failed = 0;
  const res = connect((socket) => {
    let n = 0;
    /** @type {WsStream | undefined} */
    let current;

    const startNext = () => {
      n += 1;
      current = { id: clientId(n), streamId: '', sentAt: Date.now(), lastTokenAt: 0, tokens: 0, failed: false };
      const frame = Object.assign({ type: 'start', id: current.id }, chatRequest('Tell me a story about a WebSocket.'));
      socket.send(JSON.stringify(frame));
    };

    socket.on('open', startNext);
    socket.on('message', (message) => {
      const now = Date.now();
      const frame = parseJson(message);
      const stream = current;
      if (!stream) return;
      if (!frame || typeof frame.type !== 'string') {
        stream.failed = true;
        return;
      }
      if (frame.type === 'start' && frame.id === stream.id) stream.streamId = frame.streamId;
      if (isRefusedStart(frame, stream.id, stream.streamId)) {
        reportRefusedStart('ws', frame);
        streamErrors.add(true, TAGS);
        finished += 1;
        failed += 1;
        current = undefined;
        if (n < STREAMS_PER_CONNECTION) startNext();
        else socket.close();
        return;
      }
      // Frames of other streams cannot appear (one at a time), but an `error` without a stream
      // (invalid_frame) can: it fails the current one.
      if (frame.streamId && stream.streamId && frame.streamId !== stream.streamId) return;
      if (frame.type === 'token') {
        if (stream.tokens === 0) timeToFirstToken.add(now - stream.sentAt, TAGS);
        else interTokenGap.add(now - stream.lastTokenAt, TAGS);
        stream.lastTokenAt = now;
        stream.tokens += 1;
      } else if (frame.type === 'error') {
        stream.failed = true;
      } else if (frame.type === 'done') {
        streamDuration.add(now - stream.sentAt, TAGS);
        tokens.add(stream.tokens, TAGS);
        const ok = !stream.failed && frame.reason === 'stop' && stream.tokens === TOKENS;
        streamErrors.add(!ok, TAGS);
        finished += 1;
        if (!ok) failed += 1;
        current = undefined;
        if (n < STREAMS_PER_CONNECTION) startNext();
        else socket.close();
      }
    });
    // Past the deadline the open stream and any not started count as failed (below).
    socket.setTimeout(() => socket.close(), STREAM_TIMEOUT_MS * STREAMS_PER_CONNECTION);
  }, TAGS);

  const unfinished = STREAMS_PER_CONNECTION - finished;
  for (let i = 0; i < unfinished; i++) streamErrors.add(true, TAGS);
  check(
    res,
    {
      'ws: upgraded (101)': (r) => r !== undefined && r.status === 101,
      'ws: every stream ended with done (stop) and every token': () => unfinished === 0 && failed === 0,
    },
    TAGS,
  );
}
