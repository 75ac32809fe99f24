// Parsers for what the server sends: a whole SSE body (k6 hands a script the response only
// once it has ended, so this is for counting frames, not timing them) and JSON frames.

/** @typedef {{ event: string, data: string, id: string | undefined }} SseEvent */

/**
 * Splits a complete `text/event-stream` body into events. Comment lines (heartbeats) and
 * `retry:` are skipped; multi-line data is joined with LF; CRLF and CR line ends are accepted.
 * @param {string} body
 * @returns {SseEvent[]}
 */
export function parseSse(body) {
  /** @type {SseEvent[]} */
  const events = [];
  /** @type {string[]} */
  let data = [];
  let event = '';
  /** @type {string | undefined} */
  let id;
  const lines = body.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === undefined || line.charAt(0) === ':') continue;
    if (line === '') {
      if (data.length > 0) events.push({ event: event || 'message', data: data.join('\n'), id });
      data = [];
      event = '';
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  }
  return events;
}

/**
 * JSON of one frame, or undefined when it is not JSON (a broken frame counts as an error).
 * @param {string} text
 * @returns {any}
 */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return undefined;
  }
}
