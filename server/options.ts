// Over 300 lines on purpose: every option of createTokenwire with its rule and TSDoc, validated in one schema.
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import type { AuthRequest, TokenwireAuth } from './access/authenticator.js';
import { isOrigin, loadConfig, type Config } from './settings/config.js';
import type { Logger } from './observability/log.js';
import { didYouMean } from './settings/option-keys.js';
import type { ModelProvider } from './models/provider.js';
import { isStoreOption, type StoreOption } from './fleet/store-option.js';
import type { Tool } from './tools/registry.js';
import type { ChatHooks, FinishEvent, PrepareRequest, StreamErrorEvent } from './service/chat-hooks.js';

export type { AuthenticateRequest, TokenwireAuth } from './access/authenticator.js';

/** Numbers that bound what one client, one socket and the whole instance may use. */
export interface TokenwireLimits {
  /** Streams generating at once on this instance (default 50,000). */
  maxStreams?: number;
  /** Streams one client (subject, else address) may have generating at once (default 32). */
  maxStreamsPerClient?: number;
  /** Streams one WebSocket may view at once (default 16). */
  maxStreamsPerSocket?: number;
  /** Starts one client may make per minute, a token bucket (default 120). */
  streamStartsPerMinute?: number;
  /** Messages one WebSocket may send per second (default 50). */
  wsMessagesPerSecond?: number;
  /** Bytes a slow SSE or WebSocket reader may have queued before it is dropped with `slow_consumer` (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Largest WebSocket message accepted, bytes; larger closes with 1009 (RFC 6455 §7.4.1; default 1 MiB). */
  wsMaxPayload?: number;
  /** Model turns one chat may take through tool calls (default 8). */
  maxToolRounds?: number;
  /** Approval decisions kept for the audit route (default 100,000). */
  auditMaxRecords?: number;
}

/** Times, all in milliseconds. */
export interface TokenwireTimeouts {
  /** Heartbeat on idle SSE responses (a comment) and WebSocket pings (default 15,000). */
  heartbeatMs?: number;
  /** The SSE `retry:` field sent to EventSource clients (WHATWG HTML §9.2; default 2,000). */
  sseRetryMs?: number;
  /** How long a tool call waits for a person's decision (default 120,000). */
  approvalTimeoutMs?: number;
  /** How long a tool may run (default 30,000). */
  toolTimeoutMs?: number;
  /** From a complete upgrade request to the 101, authentication included (default 10,000). */
  wsHandshakeMs?: number;
  /** `tw.close()`'s default deadline (default 10,000). */
  shutdownMs?: number;
}

/** How long and how much of each stream's log is kept, for resume. */
export interface TokenwireStreams {
  /** Finished streams are kept this long for a resume (default 300,000 ms). */
  ttlMs?: number;
  /** Frames one log keeps; older ones go and a resume from before them gets `stream_expired` (default 20,000). */
  maxFrames?: number;
  /** Approximate bytes one log keeps (default 8 MiB). */
  maxBytes?: number;
  /** Approximate bytes all logs keep, memory store (default 96 MiB). */
  maxRetainedBytes?: number;
  /** The longest resume window a client may ask for; longer asks are cut to it (default 120,000 ms). */
  maxResumeGraceMs?: number;
  /** How long a stream goes on generating after its last viewer was dropped as `slow_consumer` (default 30,000 ms). */
  slowConsumerGraceMs?: number;
  /** With Redis: how long an instance owns its generations without renewing (default 2,000 ms). */
  ownerLeaseMs?: number;
}

/**
 * Everything `createTokenwire` takes: one camelCase object, validated at construction (an
 * unknown or misspelt key throws a `TypeError` naming it). tokenwire never reads
 * `process.env`.
 */
export interface TokenwireOptions {
  /**
   * The path prefix tokenwire serves under: its routes are `${basePath}/api/…` and its
   * WebSocket `${basePath}/ws`. `''` (the default) or a path like `/tw`, no trailing slash.
   * The client's `baseUrl` is the origin plus this prefix.
   */
  basePath?: string;
  /** The model: `openaiModel(…)`, `simulatedModel(…)` (the default) or your own `ModelProvider`. */
  model?: ModelProvider;
  /** The tools a chat may name, from `defineTool`. Default none. */
  tools?: readonly Tool[];
  /**
   * The models a client may name in `options.model`, besides the model's `defaultModel` (always
   * allowed). Default none: only the default. Another is refused with 400 `model_not_allowed`,
   * unless `prepareRequest` chose the model.
   */
  models?: readonly string[];
  /**
   * Decides each chat on the server before it starts: the system prompt, the model, the tools
   * a subject may use, the messages (see `PreparedRequest`). A `TokenwireError` it throws reaches
   * the client with its code; anything else is logged and answered 500 `internal`.
   */
  prepareRequest?: PrepareRequest;
  /**
   * Called once when a generation ends, whatever the reason (`stop`, `length`, `cancelled`,
   * `error`, …), with its whole text and usage: for billing or storing the answer. Runs on the
   * instance that ran the generation, after `done`; a throw is logged, never seen by the stream;
   * `tw.close()` waits for it (up to its deadline).
   */
  onFinish?: (event: FinishEvent) => void | Promise<void>;
  /** Called once when a generation ends with an error (before `onFinish`); like `onFinish`, a throw is only logged. */
  onError?: (event: StreamErrorEvent) => void | Promise<void>;
  /** Authentication; default: anonymous callers, where a stream's token is its capability. */
  auth?: TokenwireAuth;
  /** Where stream logs, limits and decisions live: in memory (default) or `redisStore(…)` for a fleet. */
  store?: StoreOption;
  /** Any object with `debug`, `info`, `warn`, `error` taking `(object, message?)`; default a pino logger at `info`. */
  logger?: Logger;
  /** This instance's name in logs, `start` frames, audit records and `X-Tokenwire-Instance` (default host:pid). */
  instanceId?: string;
  /** Browser origins (`https://host[:port]`) allowed to open the WebSocket; default loopback pages and `publicUrl`. */
  allowedOrigins?: readonly string[];
  /** The public origin of the app (e.g. `https://chat.example.com`), trusted by the WebSocket origin check. */
  publicUrl?: string;
  /** Proxies whose `X-Forwarded-For` is believed, as proxy-addr names them (`loopback`, CIDRs); default none. */
  trustProxy?: readonly string[];
  /** Bounds per client, per socket and per instance; each unset one keeps its default. */
  limits?: TokenwireLimits;
  /** Heartbeats, approval and tool deadlines, handshake and shutdown times, in ms. */
  timeouts?: TokenwireTimeouts;
  /** How long and how much of each stream's log is kept for resume. */
  streams?: TokenwireStreams;
  /**
   * The caller's address on `tw.fetch`, for the per-client limits of anonymous callers: a web
   * `Request` has no socket, so the runtime says it (Bun's `server.requestIP(req)`, Deno's
   * `info.remoteAddr`, or `X-Forwarded-For` as set by a proxy you trust). Without it anonymous
   * callers on `tw.fetch` are not limited per client (subjects always are).
   */
  clientAddress?: (request: Request) => string | undefined;
  /** Adds Node's process metrics (prom-client's default metrics) to `tw.metrics`. Default false. */
  processMetrics?: boolean;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const fn = (name: string) => z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: `${name} must be a function` });


const Options = z.strictObject({
  basePath: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/, "a path like '/tw' (no trailing slash), or '' for the root")
    .refine((path) => !path.split('/').some((segment) => segment === '.' || segment === '..'), 'no . or .. segments: a prefix that URL normalisation would move')
    .optional(),
  model: z
    .custom<ModelProvider>((v) => typeof v === 'object' && v !== null && typeof (v as ModelProvider).stream === 'function' && typeof (v as ModelProvider).defaultModel === 'string', {
      error: 'a ModelProvider: openaiModel(…), simulatedModel(…) or an object with defaultModel and stream()',
    })
    .optional(),
  tools: z
    .array(
      z.custom<Tool>((v) => typeof v === 'object' && v !== null && typeof (v as Tool).name === 'string' && typeof (v as Tool).run === 'function', {
        error: 'a tool made with defineTool(…)',
      }),
    )
    .optional(),
  models: z.array(z.string().min(1).max(200)).optional(),
  prepareRequest: fn('prepareRequest').optional(),
  onFinish: fn('onFinish').optional(),
  onError: fn('onError').optional(),
  auth: z.strictObject({ authenticate: fn('auth.authenticate'), required: z.boolean().optional() }).optional(),
  store: z
    .custom<StoreOption>(isStoreOption, {
      error: 'memoryStore() or redisStore({ url } | { client }) itself, not a copy or a look-alike',
    })
    .optional(),
  logger: z
    .custom<Logger>((v) => typeof v === 'object' && v !== null && ['debug', 'info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), {
      error: 'an object with debug, info, warn and error methods (pino, console, …)',
    })
    .optional(),
  instanceId: z.string().trim().min(1).max(200).optional(),
  allowedOrigins: z.array(z.string().refine(isOrigin, 'an origin: http(s)://host[:port], no path')).optional(),
  publicUrl: z.url().optional(),
  trustProxy: z
    .array(z.string())
    .refine((list) => {
      try {
        proxyaddr.compile([...list]);
        return true;
      } catch {
        return false;
      }
    }, 'proxy-addr names (loopback, linklocal, uniquelocal), addresses or CIDRs')
    .optional(),
  limits: z
    .strictObject({
      maxStreams: int(1, 1_000_000),
      maxStreamsPerClient: int(1, 1_000_000),
      maxStreamsPerSocket: int(1, 100_000),
      streamStartsPerMinute: int(1, 1_000_000),
      wsMessagesPerSecond: int(1, 1_000_000),
      maxBufferedBytes: int(16_384, 1 << 30),
      wsMaxPayload: int(1024, 64 << 20),
      maxToolRounds: int(1, 100),
      auditMaxRecords: int(1, 10_000_000),
    })
    .partial()
    .optional(),
  timeouts: z
    .strictObject({
      heartbeatMs: int(10, 3_600_000),
      sseRetryMs: int(0, 3_600_000),
      approvalTimeoutMs: int(100, 86_400_000),
      toolTimeoutMs: int(10, 3_600_000),
      wsHandshakeMs: int(100, 600_000),
      shutdownMs: int(0, 600_000),
    })
    .partial()
    .optional(),
  streams: z
    .strictObject({
      ttlMs: int(0, 86_400_000),
      maxFrames: int(16, 1_000_000),
      maxBytes: int(16_384, 1 << 30),
      maxRetainedBytes: int(65_536, 2 ** 40),
      maxResumeGraceMs: int(0, 600_000),
      slowConsumerGraceMs: int(0, 600_000),
      ownerLeaseMs: int(500, 60_000),
    })
    .partial()
    .optional(),
  clientAddress: fn('clientAddress').optional(),
  processMetrics: z.boolean().optional(),
});

/** Every key the options take, by group, for "did you mean" on a typo. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(Options.shape),
  limits: Object.keys((Options.shape.limits.unwrap() as z.ZodObject).shape),
  timeouts: Object.keys((Options.shape.timeouts.unwrap() as z.ZodObject).shape),
  streams: Object.keys((Options.shape.streams.unwrap() as z.ZodObject).shape),
  auth: ['authenticate', 'required'],
};

function suggestion(group: string, key: string): string {
  return didYouMean(KNOWN_KEYS[group] ?? [], key);
}

/** The options' problems as lines that name each key, typos with the key they probably meant. */
function problemsOf(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const group = where;
      return issue.keys.map((key) => `${group ? `${group}.` : ''}${key}: unknown option${suggestion(group, key)}`);
    }
    return [`${where || 'options'}: ${issue.message}`];
  });
}

/** The options after validation and defaults: what the library builds from. */
export interface ResolvedOptions {
  /** The internal settings every part reads (the same record the standalone server parses from the environment). */
  config: Config;
  basePath: string;
  model: ModelProvider | undefined;
  tools: readonly Tool[];
  /** `prepareRequest`, `onFinish` and `onError`, each undefined when not given. */
  hooks: ChatHooks;
  auth: { authenticate(request: AuthRequest): Promise<string | null>; required: boolean } | undefined;
  store: StoreOption | undefined;
  logger: Logger | undefined;
  processMetrics: boolean;
  clientAddress: ((request: Request) => string | undefined) | undefined;
}

/**
 * Validates `options` and fills in the defaults. Throws a `TypeError` whose message lists
 * every problem by key (an unknown key names the key it probably meant).
 */
export function resolveOptions(options: TokenwireOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('createTokenwire: options must be an object');
  const parsed = Options.safeParse(options);
  if (!parsed.success) throw new TypeError(`createTokenwire: invalid options:\n  ${problemsOf(parsed.error).join('\n  ')}`);
  const o = parsed.data;
  const defaults = loadConfig({});
  const l = o.limits ?? {};
  const t = o.timeouts ?? {};
  const s = o.streams ?? {};
  const config: Config = Object.freeze({
    ...defaults,
    MAX_STREAMS: l.maxStreams ?? defaults.MAX_STREAMS,
    MAX_STREAMS_PER_CLIENT: l.maxStreamsPerClient ?? defaults.MAX_STREAMS_PER_CLIENT,
    MAX_STREAMS_PER_SOCKET: l.maxStreamsPerSocket ?? defaults.MAX_STREAMS_PER_SOCKET,
    STREAM_STARTS_PER_MINUTE: l.streamStartsPerMinute ?? defaults.STREAM_STARTS_PER_MINUTE,
    WS_MESSAGES_PER_SECOND: l.wsMessagesPerSecond ?? defaults.WS_MESSAGES_PER_SECOND,
    MAX_BUFFERED_BYTES: l.maxBufferedBytes ?? defaults.MAX_BUFFERED_BYTES,
    WS_MAX_PAYLOAD: l.wsMaxPayload ?? defaults.WS_MAX_PAYLOAD,
    MAX_TOOL_ROUNDS: l.maxToolRounds ?? defaults.MAX_TOOL_ROUNDS,
    AUDIT_MAX_RECORDS: l.auditMaxRecords ?? defaults.AUDIT_MAX_RECORDS,
    HEARTBEAT_MS: t.heartbeatMs ?? defaults.HEARTBEAT_MS,
    SSE_RETRY_MS: t.sseRetryMs ?? defaults.SSE_RETRY_MS,
    APPROVAL_TIMEOUT_MS: t.approvalTimeoutMs ?? defaults.APPROVAL_TIMEOUT_MS,
    TOOL_TIMEOUT_MS: t.toolTimeoutMs ?? defaults.TOOL_TIMEOUT_MS,
    WS_HANDSHAKE_TIMEOUT_MS: t.wsHandshakeMs ?? defaults.WS_HANDSHAKE_TIMEOUT_MS,
    SHUTDOWN_TIMEOUT_MS: t.shutdownMs ?? defaults.SHUTDOWN_TIMEOUT_MS,
    STREAM_TTL_MS: s.ttlMs ?? defaults.STREAM_TTL_MS,
    STREAM_MAX_FRAMES: s.maxFrames ?? defaults.STREAM_MAX_FRAMES,
    STREAM_MAX_BYTES: s.maxBytes ?? defaults.STREAM_MAX_BYTES,
    STREAMS_MAX_RETAINED_BYTES: s.maxRetainedBytes ?? defaults.STREAMS_MAX_RETAINED_BYTES,
    MAX_RESUME_GRACE_MS: s.maxResumeGraceMs ?? defaults.MAX_RESUME_GRACE_MS,
    SLOW_CONSUMER_GRACE_MS: s.slowConsumerGraceMs ?? defaults.SLOW_CONSUMER_GRACE_MS,
    OWNER_LEASE_MS: s.ownerLeaseMs ?? defaults.OWNER_LEASE_MS,
    ALLOWED_ORIGINS: [...(o.allowedOrigins ?? [])],
    PUBLIC_URL: o.publicUrl,
    TRUST_PROXY: [...(o.trustProxy ?? [])],
    MODELS: [...(o.models ?? [])],
    INSTANCE_ID: o.instanceId,
  });
  const userAuth = o.auth as TokenwireAuth | undefined;
  return {
    config,
    basePath: o.basePath ?? '',
    model: o.model,
    tools: o.tools ?? [],
    hooks: {
      prepareRequest: o.prepareRequest as PrepareRequest | undefined,
      onFinish: o.onFinish as ChatHooks['onFinish'],
      onError: o.onError as ChatHooks['onError'],
    },
    auth: userAuth && {
      required: userAuth.required ?? true,
      // The framework's own request reaches the app's function; a throw proves nobody.
      async authenticate(request) {
        try {
          return (await userAuth.authenticate(request.raw ?? (request as unknown as Request))) ?? null;
        } catch {
          return null;
        }
      },
    },
    store: o.store,
    logger: o.logger,
    processMetrics: o.processMetrics ?? false,
    clientAddress: o.clientAddress as ((request: Request) => string | undefined) | undefined,
  };
}
