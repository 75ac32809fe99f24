import { loadConfig } from '../../server/settings/config.js';
import { createLogger } from '../../server/observability/log.js';
import type { ModelProvider } from '../../server/models/provider.js';
import { startServer as start } from '../../server/standalone/server.js';
import { calculate } from '../../server/tools/calculate.js';
import { getWeather } from '../../server/tools/get-weather.js';
import { createToolRegistry, type Tool, type ToolRegistry } from '../../server/tools/registry.js';
import type { TestServer } from './server.js';

/** One run of a tool, with the exact arguments it got. */
export interface ToolRun {
  name: string;
  args: unknown;
}

/** The demo tools, each recording its runs: lets a test prove a tool never ran. */
export function recordingTools(): { registry: ToolRegistry; runs: ToolRun[] } {
  const runs: ToolRun[] = [];
  const record = (tool: Tool): Tool => ({
    ...tool,
    run: (args, context) => {
      runs.push({ name: tool.name, args });
      return tool.run(args, context);
    },
  });
  return { registry: createToolRegistry([getWeather, calculate].map(record)), runs };
}

/** Like test/helpers/server.ts `startServer`, with the tool registry (and provider) given. */
export async function startServerWithTools(
  env: Record<string, string>,
  parts: { tools: ToolRegistry; provider?: ModelProvider },
): Promise<TestServer & { ws: Awaited<ReturnType<typeof start>>['ws'] }> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIM_FIRST_TOKEN_MS: '0', ...env });
  const running = await start(config, { log: createLogger(config), ...parts });
  return { url: running.url, port: running.port, core: running.core, http: running.server, ws: running.ws, close: () => running.close(1_000) };
}

/** A server whose demo tools record every run, at a fast simulated pace; `runs` fills as tools run. */
export async function startRecordingServer(env: Record<string, string> = {}) {
  const tools = recordingTools();
  const server = await startServerWithTools({ SIM_TOKENS_PER_SECOND: '1000', ...env }, { tools: tools.registry });
  return { server, runs: tools.runs };
}
