import { defineTool } from 'tokenwire';
import { z } from 'zod';

/**
 * A tool a person must approve before it runs (`needsApproval` defaults to true): the page shows
 * the call and its arguments, and the chat waits for Approve or Deny.
 */
export const weatherTool = defineTool({
  name: 'get_weather',
  description: 'The current weather in a city.',
  parameters: z.strictObject({ city: z.string().min(1).max(100) }),
  // A stand-in: call your weather service here, passing `signal` to its fetch. These are the
  // fields the simulated model puts into its answer.
  run: async ({ city }) => ({ city, conditions: 'sunny', temperatureC: 21, humidity: 40, windKph: 12 }),
});
