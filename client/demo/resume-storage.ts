import type { StreamRef } from '../index.js';

/** What a pane keeps so a reload picks its unfinished stream up again. */
export interface SavedStream {
  ref: StreamRef;
  prompt: string;
}

const key = (pane: string) => `tokenwire:stream:${pane}`;

/**
 * sessionStorage, not localStorage: the stream token is a secret of this tab, and the server
 * keeps a stream only for its resume window anyway.
 */
export function saveStream(pane: string, saved: SavedStream): void {
  try {
    sessionStorage.setItem(key(pane), JSON.stringify(saved));
  } catch {
    // Storage full or disabled (private mode): a reload then starts afresh.
  }
}

export function loadStream(pane: string): SavedStream | undefined {
  try {
    const raw = sessionStorage.getItem(key(pane));
    const saved = raw ? (JSON.parse(raw) as SavedStream) : undefined;
    return saved && typeof saved.ref?.streamId === 'string' ? saved : undefined;
  } catch {
    return undefined;
  }
}

export function forgetStream(pane: string): void {
  try {
    sessionStorage.removeItem(key(pane));
  } catch {
    // Nothing kept, nothing to forget.
  }
}
