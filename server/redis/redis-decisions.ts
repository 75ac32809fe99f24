import type { Redis } from 'ioredis';
import { TokenwireError } from '../../shared/errors.js';
import type { ApprovalGate, ApprovalGateOptions } from '../engine/approvals.js';
import type { DecideRequest } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Stream } from '../streams/hub.js';
import type { Control } from './control.js';
import { KEYS } from './keys.js';
import type { Scripts } from './scripts.js';

export interface RedisDecisions {
  readonly gateHooks: Pick<ApprovalGateOptions, 'onPending' | 'onSettled'>;
  decide(callId: string, request: DecideRequest): Promise<{ streamId: string }>;
  streamOf(callId: string): Promise<string | undefined>;
}

/**
 * Tool-call decisions across instances (issue 10). The owner writes a call's record
 * (`tw:call:<id>`, state `pending`) before the call is shown; a decision sent to any instance
 * is authorised there against the stream, recorded once by a script (a retry or a replay finds
 * the state already set and is refused everywhere), and only then applied: by the local gate
 * when the call waits here, else through the owner's control channel.
 */
export function createRedisDecisions(deps: {
  redis: Redis;
  scripts: Scripts;
  control: Control;
  incarnation: string;
  /** How long a call's record outlives its expiry. */
  ttlMs: number;
  gate: () => ApprovalGate | undefined;
  find: (streamId: string) => Promise<Stream | undefined>;
  log: Logger;
}): RedisDecisions {
  const { redis, scripts, incarnation, log } = deps;

  return {
    gateHooks: {
      onPending({ callId, streamId, expiresAt }) {
        const key = KEYS.call(callId);
        redis.hset(key, { streamId, owner: incarnation, expiresAt: String(expiresAt), state: 'pending' }).catch(() => {});
        redis.pexpire(key, Math.max(1, expiresAt - Date.now()) + deps.ttlMs).catch(() => {});
      },
      onSettled(callId, outcome) {
        // Decisions are recorded before they reach the gate; only what the gate decided alone is written here.
        if (outcome === 'expired' || outcome === 'cancelled') scripts.recordDecision(KEYS.call(callId), [outcome, Date.now(), '0']).catch(() => {});
      },
    },
    async decide(callId, { decision, authorize, reason, by }) {
      const call = await redis.hgetall(KEYS.call(callId));
      if (!call.streamId || !call.owner) throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
      const stream = await deps.find(call.streamId);
      // Authorise before saying anything about the call's state, so a stranger learns nothing.
      if (!stream || !authorize(stream)) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
      const recorded = await scripts.recordDecision(KEYS.call(callId), [decision, Date.now(), '1']);
      if (recorded === 'unknown') throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
      if (recorded === 'expired') throw new TokenwireError('approval_expired');
      if (recorded === 'cancelled') throw new TokenwireError('unknown_call', `Tool call ${callId} is no longer pending: its stream ended.`);
      if (recorded !== 'ok') throw new TokenwireError('already_decided');
      if (call.owner === incarnation) {
        try {
          deps.gate()?.decide(callId, decision, { authorize: () => true, reason, by });
        } catch (error) {
          log.warn({ err: error, callId }, 'a recorded decision found its call no longer waiting');
        }
      } else {
        deps.control.send(call.owner, {
          op: 'decide',
          callId,
          decision,
          transport: by.transport,
          ...(reason !== undefined ? { reason } : {}),
          ...(by.subject !== undefined ? { subject: by.subject } : {}),
        });
      }
      return { streamId: call.streamId };
    },
    async streamOf(callId) {
      return deps.gate()?.streamOf(callId) ?? ((await redis.hget(KEYS.call(callId), 'streamId')) || undefined);
    },
  };
}
