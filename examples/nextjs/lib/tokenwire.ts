import { createTokenwire, openaiModel, simulatedModel, type Tokenwire } from 'tokenwire';
import { weatherTool } from './weather-tool';

/** Where the catch-all route lives: app/api/tw/[...path]/route.ts. The page's client uses it as its baseUrl path. */
export const TOKENWIRE_BASE_PATH = '/api/tw';

// Next.js may evaluate a route module more than once (one copy per bundle layer, again on dev
// reloads), but the streams, their logs and pending approvals must live in one instance.
const INSTANCE = Symbol.for('tokenwire-nextjs-example.instance');
const pinned = globalThis as typeof globalThis & { [INSTANCE]?: Tokenwire };

/** The app's one tokenwire instance, created on first use and shared by every copy of this module. */
export function tokenwire(): Tokenwire {
  return (pinned[INSTANCE] ??= createTokenwire({
    basePath: TOKENWIRE_BASE_PATH,
    tools: [weatherTool],
    // tokenwire never reads the environment; the app decides. Without a key the simulated model answers.
    model: process.env['OPENAI_API_KEY'] ? openaiModel({ apiKey: process.env['OPENAI_API_KEY'] }) : simulatedModel(),
  }));
}
