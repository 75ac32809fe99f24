import proxyaddr from 'proxy-addr';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A comma-separated list; empty entries dropped. */
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  );

/** `http(s)://host[:port]`, as a browser's `Origin` header names a page (RFC 6454 §6.1): no path, query or fragment. */
export function isOrigin(entry: string): boolean {
  try {
    const url = new URL(entry);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
}

/** Every setting tokenwire reads from the environment, with its default. The README lists them. */
const Env = z.object({
  /** An empty `PORT=` is a mistake, not "any port"; 0 asks the OS for a free one. */
  PORT: z
    .string()
    .default('3000')
    .pipe(z.string().trim().regex(/^\d{1,5}$/, 'give a port number (1-65535; 0 picks a free one), or unset PORT for 3000'))
    .transform(Number)
    .pipe(z.number().max(65535, 'ports go up to 65535')),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: openai when OPENAI_API_KEY is set, else the embedded simulated model. */
  MODEL_PROVIDER: z.enum(['auto', 'openai', 'simulated']).default('auto'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  MODEL: optionalString,
  /** Comma-separated models a chat may name in `options.model` besides the default (MODEL); empty: only the default. */
  MODELS: list,
  /** Connecting and waiting for the upstream's response head, per attempt (the openai SDK's timeout). */
  UPSTREAM_TIMEOUT_MS: int(1, 3_600_000).default(600_000),
  /** Longest silence between the upstream's body bytes before the stream ends with `upstream_timeout`. */
  UPSTREAM_IDLE_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** Retries tokenwire makes before the first byte (408, 409, 429, 5xx, connection errors). */
  UPSTREAM_MAX_RETRIES: int(0, 10).default(2),
  /** Longest Retry-After / retry-after-ms honoured; an upstream asking for more ends the stream with `upstream_rate_limited`. */
  UPSTREAM_MAX_RETRY_WAIT_MS: int(0, 600_000).default(10_000),
  SIM_TOKENS_PER_SECOND: z.coerce.number().positive().max(100_000).default(30),
  SIM_FIRST_TOKEN_MS: int(0, 60_000).default(150),
  HEARTBEAT_MS: int(10, 3_600_000).default(15_000),
  SSE_RETRY_MS: int(0, 3_600_000).default(2_000),
  /** Bytes a slow SSE or WebSocket reader may have queued before it is dropped (`slow_consumer`). */
  MAX_BUFFERED_BYTES: int(16_384, 1 << 30).default(1 << 20),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  APPROVAL_TIMEOUT_MS: int(100, 86_400_000).default(120_000),
  TOOL_TIMEOUT_MS: int(10, 3_600_000).default(30_000),
  MAX_TOOL_ROUNDS: int(1, 100).default(8),
  /** Finished streams are kept this long so a client can still read or resume them. */
  STREAM_TTL_MS: int(0, 86_400_000).default(300_000),
  STREAM_MAX_FRAMES: int(16, 1_000_000).default(20_000),
  /** Approximate heap bytes one stream's log may hold; past it its oldest frames go (a resume from before them: `stream_expired`). */
  STREAM_MAX_BYTES: int(16_384, 1 << 30).default(8 << 20),
  /** Approximate heap bytes all logs may hold: finished logs are evicted oldest first, then the largest live logs trimmed. */
  STREAMS_MAX_RETAINED_BYTES: int(65_536, 2 ** 40).default(96 << 20),
  /** The longest resume window (`options.resumeGraceMs`) a client may ask for; longer asks are cut to it. */
  MAX_RESUME_GRACE_MS: int(0, 600_000).default(120_000),
  /** How long a stream keeps generating after tokenwire dropped its last viewer as `slow_consumer`, so it can resume. */
  SLOW_CONSUMER_GRACE_MS: int(0, 600_000).default(30_000),
  MAX_STREAMS: int(1, 1_000_000).default(50_000),
  WS_MAX_PAYLOAD: int(1024, 64 << 20).default(1 << 20),
  /** Comma-separated origins allowed to open a WebSocket; empty: loopback and PUBLIC_URL. */
  ALLOWED_ORIGINS: list,
  DEMO_DIR: optionalString,

  // Running where strangers can reach it: public origin, proxies, per-client limits, timeouts, authentication, audit.
  /** This server's public origin (e.g. https://chat.example.com): trusted by the WebSocket Origin check. */
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  /** Proxies whose X-Forwarded-For is believed (proxy-addr names: loopback, uniquelocal, CIDRs). */
  TRUST_PROXY: list,
  /** Streams one client (authenticated subject, else address) may have generating at once. */
  MAX_STREAMS_PER_CLIENT: int(1, 1_000_000).default(32),
  /** Streams one WebSocket may be viewing at once. */
  MAX_STREAMS_PER_SOCKET: int(1, 100_000).default(16),
  /** Streams one client may start per minute (a token bucket: bursts up to this many). */
  STREAM_STARTS_PER_MINUTE: int(1, 1_000_000).default(120),
  /** Messages one WebSocket may send per second (bursts up to this many). */
  WS_MESSAGES_PER_SECOND: int(1, 1_000_000).default(50),
  /** Time to receive a request's headers; also how long a new connection may stay silent. */
  HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Time to receive a whole request (headers and body); streaming responses are not cut by it. */
  REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  /** An idle keep-alive connection is closed after this long. */
  KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /** Time from a complete upgrade request to the 101 (authentication included). */
  WS_HANDSHAKE_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** `none`: anonymous use, the stream token is the capability. `jwt`: a signed bearer token is required. */
  AUTH: z.enum(['none', 'jwt']).default('none'),
  /** HS256 shared secret (at least 32 bytes). */
  JWT_SECRET: optionalString,
  /** RS256 public key, PEM (SPKI); `\n` escapes are accepted for one-line environments. */
  JWT_PUBLIC_KEY: optionalString,
  /** A JWKS endpoint; keys are fetched and cached by `jose`. */
  JWT_JWKS_URL: optionalString.pipe(z.url().optional()),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  /** `authenticated`: /metrics needs the same credentials as the API. */
  METRICS_AUTH: z.enum(['public', 'authenticated']).default('public'),
  /** Names this process in audit records and logs; default: host name and pid. */
  INSTANCE_ID: optionalString,
  /** Approval decisions kept for GET /api/streams/:id/approvals (in memory, or per stream in Redis). */
  AUDIT_MAX_RECORDS: int(1, 10_000_000).default(100_000),

  // Several instances and all cores: the shared store and the cluster.
  /** A Redis server (redis://[user:pass@]host:port[/db]) for streams, control, limits and audit shared by every instance; unset: all in process memory. */
  REDIS_URL: optionalString.pipe(
    z
      .url({ protocol: /^rediss?$/, error: 'a Redis URL: redis://[user:pass@]host:port[/db] (or rediss:// for TLS)' })
      .optional(),
  ),
  /** Processes on this port through node:cluster: a number, or `auto` (one per core). More than one needs REDIS_URL. */
  WORKERS: z
    .union([z.literal('auto'), int(1, 256)], { error: 'a whole number from 1 to 256, or auto (one per core)' })
    .default(1),
  /** How long an instance's ownership of its generations lasts without renewal; after it viewers elsewhere get `owner_lost`. */
  OWNER_LEASE_MS: int(500, 60_000).default(2_000),
});

export type Config = Readonly<z.infer<typeof Env>>;

/** A configuration error that names the variable; `main` prints it and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once, at start-up; nothing else reads `process.env`. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const value = env[name];
      return `${name}=${JSON.stringify(value ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  if (config.MODEL_PROVIDER === 'openai' && !config.OPENAI_API_KEY) {
    throw new ConfigError('invalid configuration:\n  OPENAI_API_KEY: required when MODEL_PROVIDER=openai');
  }
  const problems = crossChecks(config);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(config);
}

/** Rules between settings that one field's schema cannot state. */
function crossChecks(config: z.infer<typeof Env>): string[] {
  const problems: string[] = [];
  const keys = [config.JWT_SECRET, config.JWT_PUBLIC_KEY, config.JWT_JWKS_URL].filter((k) => k !== undefined);
  if (config.AUTH === 'jwt' && keys.length !== 1) {
    problems.push('AUTH=jwt: set exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL');
  }
  if (config.JWT_SECRET !== undefined && Buffer.byteLength(config.JWT_SECRET) < 32) {
    problems.push('JWT_SECRET: at least 32 bytes (RFC 7518 §3.2: a key as long as the HS256 hash)');
  }
  if (config.METRICS_AUTH === 'authenticated' && config.AUTH === 'none') {
    problems.push('METRICS_AUTH=authenticated: needs AUTH other than none');
  }
  if (config.WORKERS !== 1 && config.REDIS_URL === undefined) {
    problems.push(`WORKERS=${config.WORKERS}: more than one process needs REDIS_URL (the processes share streams, control and limits through Redis)`);
  }
  // An entry that is no origin would never match a browser's Origin header: the socket refused, silently.
  const notOrigins = config.ALLOWED_ORIGINS.filter((entry) => !isOrigin(entry));
  if (notOrigins.length > 0) {
    problems.push(`ALLOWED_ORIGINS=${JSON.stringify(config.ALLOWED_ORIGINS.join(','))}: ${notOrigins.map((e) => JSON.stringify(e)).join(', ')} is not an origin; give http(s)://host[:port] entries, comma-separated`);
  }
  try {
    proxyaddr.compile([...config.TRUST_PROXY]);
  } catch (error) {
    problems.push(`TRUST_PROXY=${JSON.stringify(config.TRUST_PROXY.join(','))}: ${(error as Error).message}; use names (loopback, linklocal, uniquelocal), addresses or CIDRs, comma-separated`);
  }
  // Node refuses a headers timeout longer than the request timeout.
  if (config.HEADERS_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS) {
    problems.push('HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS');
  }
  return problems;
}
