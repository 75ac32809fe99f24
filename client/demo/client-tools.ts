import type { ClientToolHandler } from '../index.js';

/**
 * The demo page's browser tools (the server's `get_local_time`, made with `defineClientTool`):
 * what only the browser knows, answered when the stream's `tool_run` frame arrives.
 */
export const DEMO_CLIENT_TOOLS: Record<string, ClientToolHandler> = {
  get_local_time: () => {
    const now = new Date();
    return {
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      time: now.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }),
      iso: now.toISOString(),
    };
  },
};
