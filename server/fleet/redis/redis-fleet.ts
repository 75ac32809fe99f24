import type { Config } from '../../settings/config.js';
import type { ApprovalGate } from '../../engine/approvals.js';
import type { ClientOutputGate } from '../../engine/client-outputs.js';
import type { Fleet } from '../fleet.js';
import type { Logger } from '../../observability/log.js';
import type { Hub, StreamLog } from '../../streams/hub.js';
import type { Redis } from 'ioredis';
import { connectRedis, connectRedisClient } from './connect.js';
import { createControl, type ControlAnswer, type ControlMessage } from './control.js';
import { KEYS } from './keys.js';
import { createOwnership } from './ownership.js';
import { createRedisApprovalAudit } from './redis-audit.js';
import { createRedisDecisions } from './redis-decisions.js';
import { createRedisConversations } from './redis-conversations.js';
import { createRedisClientLimits } from './redis-limits.js';
import { createRedisStartKeys } from './redis-start-keys.js';
import { createRedisStore } from './redis-store.js';
import { createRemoteStream, metaFields, parseMeta, type StreamMeta } from './remote-stream.js';
import { defineScripts } from './scripts.js';
import { createStoreEpoch, recovering } from './store-epoch.js';
import { createStoreHealth } from './store-health.js';
import { createSubscriptions } from './subscriptions.js';

/** A running stream's metadata outlives a silent owner by at most this long (the takeover shortens it to the TTL). */
const META_LIVE_TTL_MS = 24 * 3_600_000;
/**
 * How long a request waits for Redis before 503 `store_unavailable`; the probe that finds a
 * frozen Redis uses the same bound, so after it every request is answered at once.
 */
const STORE_DEADLINE_MS = 1_000;
/** How long a cancel or decision sent to another instance waits for the owner to confirm it. */
const CONTROL_ACK_MS = 1_500;

/**
 * Everything instances share through Redis: the store, the lease and the owner
 * watch, the control channel, decisions, limits and the audit trail, on two connections per
 * process. Throws RedisUnavailableError when Redis does not answer at start.
 */
export async function createRedisFleet(
  config: Pick<Config, 'REDIS_URL' | 'STREAM_MAX_FRAMES' | 'STREAM_MAX_BYTES' | 'STREAM_TTL_MS' | 'OWNER_LEASE_MS' | 'MAX_STREAMS_PER_CLIENT' | 'STREAM_STARTS_PER_MINUTE' | 'AUDIT_MAX_RECORDS'>,
  identity: { instanceId: string; incarnation: string },
  log: Logger,
  hooks: { onAppendError?: (streamId: string, error: unknown) => void; client?: Redis } = {},
): Promise<Fleet> {
  const { instanceId, incarnation } = identity;
  const connections = hooks.client
    ? await connectRedisClient(hooks.client, log, `tokenwire:${instanceId}`)
    : await connectRedis(config.REDIS_URL as string, log, `tokenwire:${instanceId}`);
  const redis = connections.commands;
  const subscriptions = createSubscriptions(connections.subscriber, log);
  const scripts = defineScripts(redis);
  const health = createStoreHealth({
    redis,
    connected: () => connections.available,
    deadlineMs: STORE_DEADLINE_MS,
    intervalMs: 250,
    probeKey: KEYS.probe(incarnation),
    // Frames Redis refused go in at once, not at the next lease beat.
    onWritable: () => store.refresh(Date.now()),
    log,
  });
  const { guard } = health;
  let hub: Hub | undefined;
  let gate: ApprovalGate | undefined;
  let outputs: ClientOutputGate | undefined;
  /** Metadata of the streams running here, written again if Redis lost it. */
  const running = new Map<string, StreamMeta>();
  /** Viewers on other instances of streams owned here: how to let each go. */
  const remoteViewers = new Map<string, { detach: (reason?: 'left' | 'dropped') => void; unwatch: () => void }>();

  const store = createRedisStore({
    redis,
    subscriptions,
    maxFrames: config.STREAM_MAX_FRAMES,
    maxStreamBytes: config.STREAM_MAX_BYTES,
    ttlMs: config.STREAM_TTL_MS,
    guard,
    onAppendError: (streamId, error) => {
      log.error({ err: error, streamId }, 'Redis refused a frame; ending the generation');
      hooks.onAppendError?.(streamId, error);
      hub?.get(streamId)?.abort('owner_lost');
    },
    onRefused: (streamId, seq) => {
      // Out of memory: the generation ends with a retryable error; its last frames are kept here
      // and written once Redis takes writes, and views elsewhere are answered at once meanwhile.
      log.error({ streamId, seq }, 'Redis refused a frame for memory; ending the generation');
      health.refused();
      scripts.markRefused(KEYS.meta(streamId), seq).catch(() => {});
      hub?.get(streamId)?.abort('store_unavailable');
    },
    onSynced: (streamId) => {
      redis.hdel(KEYS.meta(streamId), 'refused').catch(() => {});
    },
    onListenerError: (error, streamId) => log.error({ err: error, streamId }, 'stream listener failed'),
  });

  const writeMeta = (streamId: string, meta: StreamMeta) => {
    redis.hset(KEYS.meta(streamId), metaFields(meta)).catch(() => {});
    redis.pexpire(KEYS.meta(streamId), META_LIVE_TTL_MS).catch(() => {});
  };

  const epoch = createStoreEpoch({ redis, scripts, windowMs: config.OWNER_LEASE_MS });
  const ownership = createOwnership({
    redis,
    scripts,
    incarnation,
    instanceId,
    leaseMs: config.OWNER_LEASE_MS,
    ttlMs: config.STREAM_TTL_MS,
    onRenew: (now) => store.refresh(now),
    onReconnect: () => {
      epoch.meet().catch(() => {});
      // A Redis restarted without persistence lost these: write back what runs here.
      for (const [streamId, meta] of running) writeMeta(streamId, meta);
      decisions.restore();
    },
    log,
  });

  function controlOnMessage(message: ControlMessage): ControlAnswer | Promise<ControlAnswer> {
    if (message.op === 'decide' || message.op === 'output') return decisions.apply(message);
    if (message.op === 'detach') {
      const viewer = remoteViewers.get(message.viewer);
      remoteViewers.delete(message.viewer);
      viewer?.unwatch();
      viewer?.detach(message.reason);
      return { ok: true };
    }
    const stream = hub?.get(message.streamId);
    if (!stream || stream.done) return message.op === 'cancel' ? { ok: true, cancelled: false } : { ok: true };
    if (message.op === 'cancel') {
      stream.abort('cancelled');
      return { ok: true, cancelled: true };
    }
    const detach = stream.attachViewer();
    // A viewer whose instance died never says goodbye: its lease tells.
    const unwatch = ownership.watchViewer(message.from, () => {
      remoteViewers.delete(message.viewer);
      detach('left');
    });
    remoteViewers.set(message.viewer, { detach, unwatch });
    return { ok: true };
  }

  const control = createControl({ redis, scripts, subscriptions, health, incarnation, ackMs: CONTROL_ACK_MS, drainMs: 250, log, onMessage: controlOnMessage });

  async function find(streamId: string): Promise<StreamLog | undefined> {
    const local = hub?.get(streamId);
    if (local) return local;
    const meta = parseMeta(await guard(() => redis.hgetall(KEYS.meta(streamId))));
    if (!meta && (await guard(() => epoch.recovering()))) throw recovering();
    if (!meta || meta.owner === incarnation) return undefined;
    return createRemoteStream(streamId, meta, { store, control, ownership, incarnation });
  }

  const decisions = createRedisDecisions({ redis, scripts, control, health, epoch, incarnation, ttlMs: config.STREAM_TTL_MS, gate: () => gate, outputs: () => outputs, find, log });
  await Promise.all([ownership.renew(), control.ready, epoch.meet()]);
  warnOnEviction(redis, log);
  const limits = createRedisClientLimits({ scripts, incarnation, maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT, startsPerMinute: config.STREAM_STARTS_PER_MINUTE });
  const audit = createRedisApprovalAudit(redis, config.AUDIT_MAX_RECORDS, (error) => log.warn({ err: error }, 'audit record not written'));
  const startKeys = createRedisStartKeys({ redis, scripts, subscriptions, guard });
  const conversations = createRedisConversations(scripts);

  return {
    incarnation,
    store,
    // What a request waits on answers within the deadline, or 503 store_unavailable.
    limits: { admitStream: (key) => guard(() => limits.admitStream(key)) },
    audit: { append: audit.append, forStream: (streamId) => guard(() => audit.forStream(streamId)) },
    // Guarded call by call inside: waiting for another instance's start is not one Redis call.
    startKeys,
    conversations: { get: (key) => guard(() => conversations.get(key)), set: (key, entry, ttlMs) => guard(() => conversations.set(key, entry, ttlMs)) },
    gateHooks: decisions.gateHooks,
    get available() {
      return connections.available && health.available;
    },
    bind(boundHub, boundGate, boundOutputs) {
      hub = boundHub;
      gate = boundGate;
      outputs = boundOutputs;
    },
    register(stream) {
      const meta: StreamMeta = { owner: incarnation, instance: instanceId, token: stream.streamToken, subject: stream.subject, graceMs: stream.graceMs, createdAt: stream.createdAt };
      running.set(stream.id, meta);
      writeMeta(stream.id, meta);
    },
    finished(stream) {
      running.delete(stream.id);
      redis.pexpire(KEYS.meta(stream.id), config.STREAM_TTL_MS).catch(() => {});
    },
    find,
    decide: decisions.decide,
    deliverOutput: decisions.deliverOutput,
    streamOfCall: decisions.streamOf,
    async close() {
      health.stop();
      control.stop();
      await ownership.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([connections.close(), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      connections.disconnect();
    },
  };
}

/**
 * Warns when Redis may evict keys: tokenwire's keys are all in use while they exist (an owner's
 * lease, a running log), so any eviction policy can end healthy streams; `noeviction` refuses
 * writes instead, which tokenwire answers with typed errors (docs/deployment.md, "Redis memory").
 */
function warnOnEviction(redis: Redis, log: Logger): void {
  redis
    .config('GET', 'maxmemory-policy')
    .then((reply) => {
      const policy = (reply as string[])[1];
      if (policy !== undefined && policy !== 'noeviction') {
        log.warn({ policy }, 'Redis maxmemory-policy is not noeviction: under memory pressure Redis may evict owners\' leases and running logs; set maxmemory-policy noeviction');
      }
    })
    // CONFIG is often renamed or refused on managed Redis: nothing to check then.
    .catch(() => {});
}
