import { jwtAuth } from '../access/jwt-auth.js';
import type { Config } from '../settings/config.js';
import { createProvider } from '../models/index.js';
import type { Logger } from '../observability/log.js';
import type { TokenwireOptions } from '../options.js';
import { createDemoToolList } from '../tools/index.js';

/**
 * The standalone server's environment as the library's options: the one place where variables
 * become `createTokenwire` options. The store (REDIS_URL) is added by the caller, which loads
 * the Redis module only when it is asked for.
 */
export function optionsFromEnv(config: Config, log: Logger): TokenwireOptions {
  const jwt =
    config.AUTH === 'jwt'
      ? jwtAuth({
          ...(config.JWT_SECRET !== undefined ? { secret: config.JWT_SECRET } : config.JWT_PUBLIC_KEY !== undefined ? { publicKey: config.JWT_PUBLIC_KEY } : { jwksUrl: config.JWT_JWKS_URL as string }),
          ...(config.JWT_ISSUER !== undefined ? { issuer: config.JWT_ISSUER } : {}),
          ...(config.JWT_AUDIENCE !== undefined ? { audience: config.JWT_AUDIENCE } : {}),
          logger: log,
        } as Parameters<typeof jwtAuth>[0])
      : undefined;
  return {
    model: createProvider(config),
    tools: createDemoToolList(),
    models: config.MODELS,
    ...(jwt ? { auth: jwt } : {}),
    logger: log,
    ...(config.INSTANCE_ID !== undefined ? { instanceId: config.INSTANCE_ID } : {}),
    allowedOrigins: config.ALLOWED_ORIGINS,
    ...(config.PUBLIC_URL !== undefined ? { publicUrl: config.PUBLIC_URL } : {}),
    trustProxy: config.TRUST_PROXY,
    limits: {
      maxStreams: config.MAX_STREAMS,
      maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT,
      maxStreamsPerSocket: config.MAX_STREAMS_PER_SOCKET,
      streamStartsPerMinute: config.STREAM_STARTS_PER_MINUTE,
      wsMessagesPerSecond: config.WS_MESSAGES_PER_SECOND,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      wsMaxPayload: config.WS_MAX_PAYLOAD,
      maxToolRounds: config.MAX_TOOL_ROUNDS,
      auditMaxRecords: config.AUDIT_MAX_RECORDS,
    },
    timeouts: {
      heartbeatMs: config.HEARTBEAT_MS,
      sseRetryMs: config.SSE_RETRY_MS,
      approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
      toolTimeoutMs: config.TOOL_TIMEOUT_MS,
      wsHandshakeMs: config.WS_HANDSHAKE_TIMEOUT_MS,
      shutdownMs: config.SHUTDOWN_TIMEOUT_MS,
    },
    streams: {
      ttlMs: config.STREAM_TTL_MS,
      maxFrames: config.STREAM_MAX_FRAMES,
      maxBytes: config.STREAM_MAX_BYTES,
      maxRetainedBytes: config.STREAMS_MAX_RETAINED_BYTES,
      maxResumeGraceMs: config.MAX_RESUME_GRACE_MS,
      slowConsumerGraceMs: config.SLOW_CONSUMER_GRACE_MS,
      ownerLeaseMs: config.OWNER_LEASE_MS,
    },
  };
}
