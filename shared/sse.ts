import { createParser, type ParseError } from 'eventsource-parser';

/** One Server-Sent Event as the WHATWG parsing rules dispatch it. */
export interface SseEvent {
  /** The last event ID as of this event (it persists across events, as in EventSource). */
  id?: string | undefined;
  event?: string | undefined;
  data: string;
}

/** What an SSE encoder can write: an event, a `retry`, a comment, or any of them together. */
export interface SseMessage {
  id?: string | number;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

const LINE_BREAK = /\r\n|\r|\n/;

function assertSingleLine(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`SSE ${field} must not contain CR, LF or NUL`);
}

/**
 * Encodes one SSE message. `data` may span lines; each becomes its own `data:` line and the
 * parser joins them with `\n` again (WHATWG HTML §9.2.6).
 */
export function encodeSse(message: SseMessage): string {
  let out = '';
  if (message.comment !== undefined) {
    for (const line of message.comment.split(LINE_BREAK)) out += `:${line ? ` ${line}` : ''}\n`;
  }
  if (message.retry !== undefined) {
    if (!Number.isInteger(message.retry) || message.retry < 0) throw new TypeError('SSE retry must be a whole number');
    out += `retry: ${message.retry}\n`;
  }
  if (message.id !== undefined) {
    const id = String(message.id);
    assertSingleLine('id', id);
    out += `id: ${id}\n`;
  }
  if (message.event !== undefined) {
    assertSingleLine('event', message.event);
    out += `event: ${message.event}\n`;
  }
  if (message.data !== undefined) {
    for (const line of message.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}

/** A heartbeat: a comment line that keeps proxies from closing an idle stream. */
export const encodeSseComment = (text: string): string => encodeSse({ comment: text });

export interface SseParserCallbacks {
  onEvent: (event: SseEvent) => void;
  onRetry?: (ms: number) => void;
  onComment?: (text: string) => void;
  /** Called once when the buffer bound is exceeded; the parser then needs `reset()`. */
  onError?: (error: Error) => void;
}

export interface SseParser {
  /** Feeds the next chunk as it came off the wire: bytes or text, split anywhere. */
  feed(chunk: string | Uint8Array): void;
  /** Forgets any partial line or event and any partial UTF-8 sequence (on reconnect). */
  reset(): void;
}

/** Default bound on buffered, undispatched input: 1 MiB of characters. */
export const DEFAULT_MAX_BUFFER = 1 << 20;

/**
 * An incremental SSE parser that gives the same events however the input is split: inside a
 * multi-byte UTF-8 character, between CR and LF, or one byte at a time. Built on
 * eventsource-parser; bytes are decoded with a streaming TextDecoder, which also drops a
 * leading BOM.
 */
export function createSseParser(callbacks: SseParserCallbacks, options: { maxBufferSize?: number } = {}): SseParser {
  let decoder = new TextDecoder('utf-8');
  let atStart = true;
  let failed = false;
  let skipLF = false;
  let lastEventId: string | undefined;
  const parser = createParser({
    maxBufferSize: options.maxBufferSize ?? DEFAULT_MAX_BUFFER,
    onEvent: (event) => {
      // The spec's last event ID persists across events until an `id` field changes it.
      if (event.id !== undefined) lastEventId = event.id;
      callbacks.onEvent({ id: lastEventId, event: event.event, data: event.data });
    },
    onRetry: (ms) => callbacks.onRetry?.(ms),
    onComment: (text) => callbacks.onComment?.(text),
    onError: (error: ParseError) => {
      // Invalid `retry` values and unknown fields are ignored, as the spec says; only the
      // buffer bound is fatal.
      if (error.type === 'max-buffer-size-exceeded') {
        failed = true;
        callbacks.onError?.(error);
      }
    },
  });

  const feedText = (text: string): void => {
    if (failed || text === '') return;
    if (atStart) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR ends a line at once (WHATWG HTML §9.2.6); eventsource-parser would hold a chunk's
    // final CR until it sees whether LF follows, delaying that event. So CRLF and CR become
    // LF here, and an LF right after a chunk that ended in CR is dropped.
    if (skipLF && text.charCodeAt(0) === 0x0a) text = text.slice(1);
    skipLF = text.charCodeAt(text.length - 1) === 0x0d;
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    parser.feed(text);
  };

  return {
    feed(chunk) {
      feedText(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    reset() {
      parser.reset();
      decoder = new TextDecoder('utf-8');
      atStart = true;
      failed = false;
      skipLF = false;
      lastEventId = undefined;
    },
  };
}
