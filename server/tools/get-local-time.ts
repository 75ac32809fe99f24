import { z } from 'zod';
import { defineClientTool } from './client-tool.js';

/**
 * Demo client tool: the browser's local time and IANA time zone, which only the browser knows.
 * The demo page answers it (`clientTools.get_local_time`); no approval: it reads nothing private
 * beyond what any page may read.
 */
export const getLocalTime = defineClientTool({
  name: 'get_local_time',
  description: "Get the user's local time and time zone from their browser.",
  parameters: z.strictObject({}),
  timeoutMs: 30_000,
});
