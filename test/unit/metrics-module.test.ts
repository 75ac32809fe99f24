import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../server/observability/metrics.js';

// Every metric is defined once, in server/observability/metrics.ts: a series defined beside its user is how
// tokenwire_ws_connections came to repeat tokenwire_connections_open{transport="ws"}.

const root = fileURLToPath(new URL('../..', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [path] : [];
  });

describe('metrics in one module', () => {
  it('defines every prom-client metric in server/observability/metrics.ts and nowhere else', () => {
    const elsewhere = sources(join(root, 'server'))
      .filter((file) => /new (Counter|Gauge|Histogram|Summary)\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(elsewhere).toEqual(['server/observability/metrics.ts']);
  });

  it('names each series once, all under tokenwire_', async () => {
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => !name.startsWith('tokenwire_'))).toEqual([]);
  });
});
