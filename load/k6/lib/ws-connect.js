// k6/ws's connect, made total: k6 throws when the handshake fails (refused upgrade, no route),
// which would end the iteration before it could count the failed stream.
import ws from 'k6/ws';
import { WS_URL } from './config.js';

/**
 * Opens WS_URL and runs `executor` on the socket until it closes; undefined when the
 * connection could not be made.
 * @param {import('k6/ws').Executor} executor
 * @param {{ [name: string]: string }} tags
 * @returns {import('k6/ws').Response | undefined}
 */
export function connect(executor, tags) {
  try {
    return ws.connect(WS_URL, { tags }, executor);
  } catch (e) {
    return undefined;
  }
}
