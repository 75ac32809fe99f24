import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, NGINX_CONF, startReplica, type Replica } from './nginx-harness.js';

// Docker does not run here, so the deployment files are checked by what does: Debian's
// docker-compose (1.29, Python) validates docker-compose.yml against the Compose schema
// without a daemon and prints it normalised; the Dockerfile's health probe runs for real.

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
// Only PATH and HOME: the file's own defaults apply, not this shell's LOG_LEVEL or VUS.
const cleanEnv = { PATH: `${process.env.PATH ?? ''}:/usr/bin:/usr/local/bin`, HOME: process.env.HOME ?? '/tmp' };

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: { published: number | string; target: number | string }[];
  volumes?: { type: string; source: string; target: string; read_only?: boolean }[] | string[];
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}

/** `docker-compose config`, i.e. validated and normalised, as JSON (PyYAML comes with it). */
async function composeConfig(): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run('docker-compose', ['--profile', 'load', 'config'], { cwd: root, env: cleanEnv });
  const json = execFileSync('python3', ['-c', 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)'], {
    env: cleanEnv,
    input: stdout,
    encoding: 'utf8',
  });
  return JSON.parse(json) as { services: Record<string, ComposeService> };
}

/** Bind mounts as `source:target[:ro]` strings, whichever syntax the normaliser printed. */
function mounts(service: ComposeService): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: v.read_only === true };
    const [source = '', target = '', mode = ''] = v.split(':');
    return { source, target, readOnly: mode === 'ro' };
  });
}

describe('docker-compose.yml', () => {
  it('is valid by docker-compose config -q (Compose schema, no daemon)', async () => {
    const { stdout, stderr } = await run('docker-compose', ['config', '-q'], { cwd: root, env: cleanEnv });
    expect(stdout).toBe('');
    expect(stderr).toBe('');
  });

  it('runs nginx on 8080 in front of two healthy replicas, and k6 only under the load profile', async () => {
    const { services } = await composeConfig();
    expect(Object.keys(services).sort()).toEqual(['app1', 'app2', 'grafana', 'k6', 'nginx', 'prometheus', 'redis']);
    // Prometheus and Grafana only under the metrics profile, with the files from deploy/.
    expect([services.prometheus?.profiles, services.grafana?.profiles]).toEqual([['metrics'], ['metrics']]);
    expect(mounts(services.prometheus!)).toContainEqual({ source: join(root, 'deploy/prometheus.yml'), target: '/etc/prometheus/prometheus.yml', readOnly: true });

    for (const name of ['app1', 'app2']) {
      const app = services[name]!;
      expect(app.build?.context).toBe(root.replace(/\/$/, ''));
      expect(app.environment).toMatchObject({ HOST: '0.0.0.0', PORT: '3000', REDIS_URL: 'redis://redis:6379' });
      expect(app.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      expect(app.profiles).toBeUndefined();
    }

    const nginx = services.nginx!;
    expect(nginx.ports).toEqual([expect.objectContaining({ published: 8080, target: 80 })]);
    expect(nginx.depends_on).toEqual({ app1: { condition: 'service_healthy' }, app2: { condition: 'service_healthy' } });
    // Every file nginx.conf includes is mounted beside it, from deploy/, read-only.
    const included = [...NGINX_CONF.matchAll(/^\s*include\s+([^;\s]+);/gm)].map((m) => m[1]!);
    expect(included.sort()).toEqual(['nginx.balance.conf', 'nginx.listen.conf', 'nginx.upstreams.conf']);
    const nginxMounts = mounts(nginx);
    // With Redis the balancing is round robin: nginx.round-robin.conf stands in for nginx.balance.conf.
    expect(nginxMounts).toContainEqual({ source: join(root, 'deploy/nginx.round-robin.conf'), target: '/etc/nginx/nginx.balance.conf', readOnly: true });
    for (const file of ['nginx.conf', ...included.filter((f) => f !== 'nginx.balance.conf')]) {
      expect(nginxMounts).toContainEqual({ source: join(root, 'deploy', file), target: posix.join('/etc/nginx', file), readOnly: true });
    }
    // The upstreams file names the compose services on the port they listen on.
    const upstreams = readFileSync(join(root, 'deploy/nginx.upstreams.conf'), 'utf8');
    expect([...upstreams.matchAll(/^server\s+([^\s;]+)/gm)].map((m) => m[1])).toEqual(['app1:3000', 'app2:3000']);
    expect(readFileSync(join(root, 'deploy/nginx.listen.conf'), 'utf8')).toMatch(/^listen 80;$/m);

    const k6 = services.k6!;
    expect(k6.profiles).toEqual(['load']);
    // Built with the SSE extension: sse-chat.js and mixed.js import k6/x/sse.
    expect(k6.build?.context).toBe(join(root, 'load/k6'));
    expect(readFileSync(join(root, 'load/k6/Dockerfile'), 'utf8')).toMatch(/xk6 build .*--with github\.com\/phymbert\/xk6-sse/);
    expect(k6.environment?.BASE_URL).toBe('http://nginx');
    expect(k6.command?.[0]).toBe('run');
    const scriptsMount = mounts(k6).find((m) => m.target === '/scripts');
    expect(scriptsMount?.source).toBe(join(root, 'load/k6'));
    // The script it runs exists where the mount puts it.
    const script = k6.command?.[1] ?? '';
    expect(existsSync(join(root, 'load/k6', posix.relative('/scripts', script)))).toBe(true);

    // Every bind mount's source exists (a typo would make Docker create an empty directory).
    for (const service of Object.values(services)) for (const m of mounts(service)) expect(existsSync(m.source), m.source).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  let replica: Replica;

  beforeAll(async () => {
    replica = await startReplica();
  }, 30_000);
  afterAll(async () => {
    await replica?.stop();
  });

  it('builds in a build stage and runs node dist/server/standalone/main.js on node:24-slim as a non-root user', () => {
    expect(instructions).toContain('ARG NODE_IMAGE=node:24-slim');
    expect(instructions.filter((i) => i.startsWith('FROM '))).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
    const runtime = instructions.slice(instructions.indexOf('FROM ${NODE_IMAGE} AS runtime'));
    expect(instructions.slice(0, instructions.indexOf(runtime[0]!))).toEqual(expect.arrayContaining(['RUN npm ci --no-audit --no-fund', 'RUN npm run build']));
    expect(runtime).toEqual(expect.arrayContaining([expect.stringMatching(/^RUN npm ci --omit=dev\b/), 'COPY --from=build /app/dist ./dist', 'USER node']));
    expect(runtime.find((i) => i.startsWith('ENV '))).toMatch(/\bHOST=0\.0\.0\.0\b/);
    // The same V8 flags as npm start and the bench (scripts/node-flags.json).
    const flags = JSON.parse(readFileSync(join(root, 'scripts/node-flags.json'), 'utf8')) as string[];
    expect(runtime.at(-1)).toBe(`CMD ${JSON.stringify(['node', ...flags, 'dist/server/standalone/main.js']).replaceAll(',', ', ')}`);
    // The build writes dist/server/standalone/main.js: tsconfig.build.json emits server/ under dist/ from the root.
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string }; include: string[] };
    expect(build.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
    expect(build.include).toContain('server');
  });

  it('has a HEALTHCHECK that passes against a running server and fails against a closed port', async () => {
    const healthcheck = instructions.find((i) => i.startsWith('HEALTHCHECK '));
    const json = /\bCMD (\[.*\])$/.exec(healthcheck ?? '')?.[1];
    const [command, ...args] = JSON.parse(json ?? '[]') as string[];
    expect(command).toBe('node');
    const probe = (port: number) =>
      run(process.execPath, args, { env: { ...cleanEnv, PORT: String(port) }, timeout: 5_000 }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 1,
      );
    expect(await probe(replica.port)).toBe(0);
    expect(await probe(await freePort())).toBe(1);
  });
});
