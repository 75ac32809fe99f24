import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../server/options.js';
import { loadConfig } from '../../server/settings/config.js';
import { optionsFromEnv } from '../../server/standalone/env-options.js';

// The environment → options mapping (standalone) and the options → settings mapping (library)
// are each other's inverse: a variable the standalone server reads reaches the engine unchanged.

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('environment → options → settings', () => {
  it('carries every library setting through unchanged', () => {
    const env = {
      MAX_STREAMS: '7', MAX_STREAMS_PER_CLIENT: '3', MAX_STREAMS_PER_SOCKET: '2', STREAM_STARTS_PER_MINUTE: '9', WS_MESSAGES_PER_SECOND: '11',
      MAX_BUFFERED_BYTES: '70000', WS_MAX_PAYLOAD: '4096', MAX_TOOL_ROUNDS: '4', AUDIT_MAX_RECORDS: '12', HEARTBEAT_MS: '1234', SSE_RETRY_MS: '55',
      APPROVAL_TIMEOUT_MS: '4321', TOOL_TIMEOUT_MS: '999', WS_HANDSHAKE_TIMEOUT_MS: '777', SHUTDOWN_TIMEOUT_MS: '111', STREAM_TTL_MS: '222',
      STREAM_MAX_FRAMES: '333', STREAM_MAX_BYTES: '20000', STREAMS_MAX_RETAINED_BYTES: '80000', MAX_RESUME_GRACE_MS: '444', SLOW_CONSUMER_GRACE_MS: '555',
      OWNER_LEASE_MS: '666', ALLOWED_ORIGINS: 'https://a.example', PUBLIC_URL: 'https://chat.example', TRUST_PROXY: 'loopback', INSTANCE_ID: 'i-1',
      MODELS: 'gpt-a, gpt-b',
    };
    const config = loadConfig(env);
    const settings = resolveOptions(optionsFromEnv(config, quiet)).config;
    for (const name of Object.keys(env) as (keyof typeof config)[]) expect([name, settings[name]]).toEqual([name, config[name]]);
  });
});
