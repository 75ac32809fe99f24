import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { freePort, launch, type Proc } from './nginx-harness.js';

// WORKERS=N whose workers cannot stay up: the primary stops restarting them and exits 2 with
// the reason, as for any setting or dependency that keeps the server from running (README).

let redis: RedisServer;
let squatter: Server;
let primary: Proc | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
}, 30_000);

afterAll(async () => {
  await primary?.stop(5_000);
  await new Promise((resolve) => squatter?.close(resolve));
  await redis?.stop();
}, 20_000);

describe('WORKERS=2 whose workers keep dying', () => {
  it('the primary exits 2 and says why, instead of 0 or restarting them forever', async () => {
    // The port is taken: every worker's listen fails and the worker exits 2 at once.
    const port = await freePort();
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    const began = performance.now();
    primary = launch(process.execPath, ['--import', 'tsx', 'server/standalone/main.ts'], {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'silent',
      WORKERS: '2',
      REDIS_URL: redis.url,
    });
    const code = await primary.exited;
    const seconds = (performance.now() - began) / 1000;
    console.log(`[workers-crash-loop] primary exited ${code} after ${seconds.toFixed(1)} s`);
    expect(code).toBe(2);
    expect(primary.stderr()).toMatch(/workers keep dying/);
    expect(seconds).toBeLessThan(30);
  }, 40_000);
});
