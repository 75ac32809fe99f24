import type { ChatState } from '../chat-store.js';

/** `1234` → `1.2 kB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(2)} MB`;
}

export const formatMs = (ms: number | undefined): string => (ms === undefined ? '–' : `${Math.round(ms)} ms`);

export const formatRate = (perSecond: number | undefined): string => (perSecond === undefined ? '–' : perSecond.toFixed(1));

/** The one-line status a person (and the e2e tests) read: it says `done` when a stream finished. */
export function statusLine(state: ChatState): string {
  const seconds = state.stats ? `${(state.stats.elapsedMs / 1000).toFixed(2)} s` : '';
  switch (state.status) {
    case 'idle':
      return 'ready';
    case 'connecting':
      return 'connecting…';
    case 'streaming':
      return 'streaming…';
    case 'reconnecting':
      return 'reconnecting… (the server keeps generating)';
    case 'awaiting_approval':
      return `waiting for approval: ${state.pendingApproval?.name ?? 'tool'}`;
    case 'done':
      return `done · ${state.result?.reason ?? 'stop'} · ${seconds}`;
    case 'cancelled':
      return `cancelled · ${seconds}`;
    case 'error':
      return `error · ${state.error?.code ?? 'internal'}: ${state.error?.message ?? ''}`;
  }
}
