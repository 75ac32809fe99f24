import type { Config } from '../config.js';
import type { ApprovalGate } from '../engine/approvals.js';
import type { Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Hub, Stream } from '../streams/hub.js';
import type { Redis } from 'ioredis';
import { connectRedis, connectRedisClient } from './connect.js';
import { createControl, type ControlMessage } from './control.js';
import { KEYS } from './keys.js';
import { createOwnership } from './ownership.js';
import { createRedisApprovalAudit } from './redis-audit.js';
import { createRedisDecisions } from './redis-decisions.js';
import { createRedisClientLimits } from './redis-limits.js';
import { createRedisStartKeys } from './redis-start-keys.js';
import { createRedisStore } from './redis-store.js';
import { createRemoteStream, metaFields, parseMeta, type StreamMeta } from './remote-stream.js';
import { defineScripts } from './scripts.js';
import { createSubscriptions } from './subscriptions.js';

/** A running stream's metadata outlives a silent owner by at most this long (the takeover shortens it to the TTL). */
const META_LIVE_TTL_MS = 24 * 3_600_000;

/**
 * Everything instances share through Redis (issue 10): the store, the lease and the owner
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
  let hub: Hub | undefined;
  let gate: ApprovalGate | undefined;
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
    onAppendError: (streamId, error) => {
      log.error({ err: error, streamId }, 'Redis refused a frame; ending the generation');
      hooks.onAppendError?.(streamId, error);
      hub?.get(streamId)?.abort('owner_lost');
    },
    onListenerError: (error, streamId) => log.error({ err: error, streamId }, 'stream listener failed'),
  });

  const writeMeta = (streamId: string, meta: StreamMeta) => {
    redis.hset(KEYS.meta(streamId), metaFields(meta)).catch(() => {});
    redis.pexpire(KEYS.meta(streamId), META_LIVE_TTL_MS).catch(() => {});
  };

  const ownership = createOwnership({
    redis,
    scripts,
    incarnation,
    instanceId,
    leaseMs: config.OWNER_LEASE_MS,
    ttlMs: config.STREAM_TTL_MS,
    onRenew: (now) => store.refresh(now),
    onReconnect: () => {
      for (const [streamId, meta] of running) writeMeta(streamId, meta);
    },
    log,
  });

  function controlOnMessage(message: ControlMessage): void {
    if (message.op === 'decide') {
      try {
        gate?.decide(message.callId, message.decision, { authorize: () => true, reason: message.reason, by: { subject: message.subject, transport: message.transport } });
      } catch (error) {
        log.warn({ err: error, callId: message.callId }, 'a recorded decision found its call no longer waiting');
      }
      return;
    }
    if (message.op === 'detach') {
      const viewer = remoteViewers.get(message.viewer);
      remoteViewers.delete(message.viewer);
      viewer?.unwatch();
      viewer?.detach(message.reason);
      return;
    }
    const stream = hub?.get(message.streamId);
    if (!stream || stream.done) return;
    if (message.op === 'cancel') {
      stream.abort('cancelled');
      return;
    }
    const detach = stream.attachViewer();
    // A viewer whose instance died never says goodbye: its lease tells.
    const unwatch = ownership.watchViewer(message.from, () => {
      remoteViewers.delete(message.viewer);
      detach('left');
    });
    remoteViewers.set(message.viewer, { detach, unwatch });
  }

  const control = createControl({ redis, subscriptions, incarnation, log, onMessage: controlOnMessage });

  async function find(streamId: string): Promise<Stream | undefined> {
    const local = hub?.get(streamId);
    if (local) return local;
    const meta = parseMeta(await redis.hgetall(KEYS.meta(streamId)));
    if (!meta || meta.owner === incarnation) return undefined;
    return createRemoteStream(streamId, meta, { store, control, ownership, incarnation });
  }

  const decisions = createRedisDecisions({ redis, scripts, control, incarnation, ttlMs: config.STREAM_TTL_MS, gate: () => gate, find, log });
  await Promise.all([ownership.renew(), control.ready]);

  return {
    incarnation,
    store,
    limits: createRedisClientLimits({ scripts, incarnation, maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT, startsPerMinute: config.STREAM_STARTS_PER_MINUTE }),
    audit: createRedisApprovalAudit(redis, config.AUDIT_MAX_RECORDS, (error) => log.warn({ err: error }, 'audit record not written')),
    startKeys: createRedisStartKeys(redis),
    gateHooks: decisions.gateHooks,
    get available() {
      return connections.available;
    },
    bind(boundHub, boundGate) {
      hub = boundHub;
      gate = boundGate;
    },
    register(stream) {
      const meta: StreamMeta = { owner: incarnation, instance: instanceId, token: stream.approvalToken, subject: stream.subject, graceMs: stream.graceMs, createdAt: stream.createdAt };
      running.set(stream.id, meta);
      writeMeta(stream.id, meta);
    },
    finished(stream) {
      running.delete(stream.id);
      redis.pexpire(KEYS.meta(stream.id), config.STREAM_TTL_MS).catch(() => {});
    },
    find,
    decide: decisions.decide,
    streamOfCall: decisions.streamOf,
    async close() {
      control.stop();
      await ownership.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([connections.close(), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      connections.disconnect();
    },
  };
}
