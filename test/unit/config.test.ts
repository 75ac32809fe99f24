import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/settings/config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      SIM_TOKENS_PER_SECOND: 30,
      HEARTBEAT_MS: 15_000,
      APPROVAL_TIMEOUT_MS: 120_000,
      MODEL_PROVIDER: 'auto',
      ALLOWED_ORIGINS: [],
      UPSTREAM_IDLE_TIMEOUT_MS: 60_000,
      UPSTREAM_MAX_RETRY_WAIT_MS: 10_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('coerces numbers and splits the origin list', () => {
    const config = loadConfig({ PORT: '8080', SIM_TOKENS_PER_SECOND: '200', ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443/' });
    expect(config.PORT).toBe(8080);
    expect(config.SIM_TOKENS_PER_SECOND).toBe(200);
    expect(config.ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example:8443/']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['HEARTBEAT_MS', '-1'],
    ['SIM_TOKENS_PER_SECOND', '0'],
    ['OPENAI_BASE_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['UPSTREAM_IDLE_TIMEOUT_MS', '0'],
    ['UPSTREAM_MAX_RETRY_WAIT_MS', '-5'],
  ])('names the variable when %s=%s is bad', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });

  it('requires a key when the openai provider is forced', () => {
    expect(() => loadConfig({ MODEL_PROVIDER: 'openai' })).toThrow(/OPENAI_API_KEY/);
  });

  it('treats an empty key as unset', () => {
    expect(loadConfig({ OPENAI_API_KEY: '  ' }).OPENAI_API_KEY).toBeUndefined();
  });

  it('gives the production defaults: limits, timeouts, no authentication', () => {
    expect(loadConfig({})).toMatchObject({
      MAX_STREAMS_PER_CLIENT: 32,
      MAX_STREAMS_PER_SOCKET: 16,
      STREAM_STARTS_PER_MINUTE: 120,
      WS_MESSAGES_PER_SECOND: 50,
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      KEEP_ALIVE_TIMEOUT_MS: 5_000,
      WS_HANDSHAKE_TIMEOUT_MS: 10_000,
      AUTH: 'none',
      METRICS_AUTH: 'public',
      TRUST_PROXY: [],
    });
  });

  it.each([
    [{ AUTH: 'jwt' }, /exactly one of JWT_SECRET/],
    [{ AUTH: 'jwt', JWT_SECRET: 'x'.repeat(32), JWT_JWKS_URL: 'https://idp.example/jwks' }, /exactly one of JWT_SECRET/],
    [{ AUTH: 'jwt', JWT_SECRET: 'short' }, /JWT_SECRET: at least 32 bytes/],
    [{ METRICS_AUTH: 'authenticated' }, /METRICS_AUTH=authenticated/],
    [{ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' }, /HEADERS_TIMEOUT_MS: must not exceed/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL=/],
    // A fresh user's review: each names the variable and what it takes, and exits 2 in main.
    [{ TRUST_PROXY: 'not a cidr///' }, /TRUST_PROXY="not a cidr\/\/\/": invalid IP address.*names \(loopback/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL="http:\/\/x": a Redis URL: redis:\/\//],
    [{ WORKERS: 'abc' }, /WORKERS="abc": a whole number from 1 to 256, or auto/],
    [{ ALLOWED_ORIGINS: 'not-an-origin' }, /ALLOWED_ORIGINS="not-an-origin": "not-an-origin" is not an origin; give http\(s\):\/\/host/],
    [{ ALLOWED_ORIGINS: 'https://ok.example, https://app.example/chat, ftp://x.example' }, /"https:\/\/app.example\/chat", "ftp:\/\/x.example" is not an origin/],
  ])('refuses inconsistent settings: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
