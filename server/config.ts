import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Every setting tokenwire reads from the environment, with its default. The README lists them. */
const Env = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: openai when OPENAI_API_KEY is set, else the embedded simulated model. */
  MODEL_PROVIDER: z.enum(['auto', 'openai', 'simulated']).default('auto'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  MODEL: optionalString,
  UPSTREAM_TIMEOUT_MS: int(1, 3_600_000).default(600_000),
  /** Retries the openai SDK makes before the first byte (429, 5xx, connection errors). */
  UPSTREAM_MAX_RETRIES: int(0, 10).default(2),
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
  /** Comma-separated origins allowed to open a WebSocket; empty: this server's own and localhost. */
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  DEMO_DIR: optionalString,
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
  return Object.freeze(config);
}
