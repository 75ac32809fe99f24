// A start the server refuses (too_many_streams, rate_limited, server_shutdown …) is answered by
// one `error` frame naming the start's client id, and nothing more: no stream exists, so no
// `done` follows. A flow that waited for one would sit out its whole STREAM_TIMEOUT_MS.
import { refusedStarts } from './metrics.js';

/**
 * Whether `frame` refused the start `id`: an `error` naming that id before any `start` frame.
 * @param {any} frame
 * @param {string} id the start's client id
 * @param {string} streamId the stream's id once its `start` frame came, else ''
 * @returns {boolean}
 */
export function isRefusedStart(frame, id, streamId) {
  return frame.type === 'error' && streamId === '' && frame.streamId === id;
}

/**
 * Says why a start was refused, in k6's log and in `tw_refused_starts{flow, code}`.
 * @param {string} flow
 * @param {any} frame
 */
export function reportRefusedStart(flow, frame) {
  const code = String(frame.code);
  console.warn(`${flow}: start refused: ${code}: ${String(frame.message)}`);
  refusedStarts.add(1, { flow, code });
}
