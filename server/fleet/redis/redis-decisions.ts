import type { Redis } from 'ioredis';
import { TokenwireError, toTokenwireError } from '../../../shared/errors.js';
import { decideCall, type ApprovalGate } from '../../engine/approvals.js';
import type { ClientOutputGate } from '../../engine/client-outputs.js';
import type { DecideRequest, GateHooks, OutputRequest } from '../fleet.js';
import type { Logger } from '../../observability/log.js';
import type { StreamLog } from '../../streams/hub.js';
import type { Control, ControlAnswer, ControlMessage } from './control.js';
import { OUTPUT, refusal, stateAfter } from './call-states.js';
import { CHANNELS, KEYS } from './keys.js';
import type { CallKind, Scripts } from './scripts.js';
import { recovering, type StoreEpoch } from './store-epoch.js';
import type { StoreHealth } from './store-health.js';

export interface RedisDecisions {
  readonly gateHooks: GateHooks;
  decide(callId: string, request: DecideRequest): Promise<{ streamId: string }>;
  /** A client tool's output, recorded and applied as a decision is (state `output`). */
  deliverOutput(callId: string, request: OutputRequest): Promise<{ streamId: string }>;
  streamOf(callId: string): Promise<string | undefined>;
  /** The owner applies a decision (or a client tool's output) another instance recorded; the answer goes back to that instance. */
  apply(message: Extract<ControlMessage, { op: 'decide' | 'output' }>): ControlAnswer | Promise<ControlAnswer>;
  /** Writes back the records of the calls pending here that Redis lost (it restarted without persistence). */
  restore(): void;
}

/**
 * Tool-call decisions across instances. The owner writes a call's record (`tw:call:<id>`,
 * state `pending`) before the call is shown, and writes it back if Redis lost it. A decision
 * sent to any instance is authorised there against the stream and recorded once by a script (a
 * retry or a replay finds the state set and is refused everywhere). On the owner it is applied
 * at once; elsewhere the same script queues it for the owner, and the answer waits for the
 * owner's confirmation: a decision the owner never took is un-recorded and answered
 * `store_unavailable` (retryable), and one for an owner whose lease is gone is never recorded.
 */
export function createRedisDecisions(deps: {
  redis: Redis;
  scripts: Scripts;
  control: Control;
  health: Pick<StoreHealth, 'guard'>;
  epoch: Pick<StoreEpoch, 'recovering'>;
  incarnation: string;
  /** How long a call's record outlives its expiry. */
  ttlMs: number;
  gate: () => ApprovalGate | undefined;
  /** The client tools' output gate, once bound. */
  outputs: () => ClientOutputGate | undefined;
  find: (streamId: string) => Promise<StreamLog | undefined>;
  log: Logger;
}): RedisDecisions {
  const { redis, scripts, health, incarnation, log } = deps;
  /** Calls waiting here, to write back after a Redis restart. */
  const pending = new Map<string, { streamId: string; expiresAt: number; kind: CallKind }>();
  const recordTtl = (expiresAt: number) => Math.max(1, expiresAt - Date.now()) + deps.ttlMs;
  const restoreOne = (callId: string, call: { streamId: string; expiresAt: number; kind: CallKind }) =>
    scripts.restoreCall(KEYS.call(callId), [call.streamId, incarnation, call.expiresAt, recordTtl(call.expiresAt), call.kind]);

  /** The gate refused a recorded decision: the record says what happened instead, and the caller gets the gate's error. */
  function unrecord(callId: string, decision: string, error: unknown): TokenwireError {
    const refused = toTokenwireError(error);
    // A call still waiting here (e.g. for the other kind of answer) goes back to pending, so a
    // stray answer cannot block the one it waits for.
    const state = pending.has(callId) ? 'pending' : stateAfter(refused.code);
    if (state) scripts.swapState(KEYS.call(callId), decision, state).catch(() => {});
    return refused;
  }

  /** Applies a recorded decision to the gate here: the tool's rule and an edit are checked where the call waits. */
  async function decideHere(callId: string, owns: boolean, { decision, reason, code, args, by }: Omit<DecideRequest, 'authorize'>): Promise<void> {
    const gate = deps.gate();
    if (!gate) throw unrecord(callId, decision, new TokenwireError('unknown_call', `No tool call ${callId} is known.`));
    try {
      await decideCall(gate, callId, decision, { owns: () => owns, reason, code, args, by });
    } catch (error) {
      throw unrecord(callId, decision, error);
    }
  }

  /** Applies a recorded output to the output gate here; one the gate refuses is un-recorded. */
  function deliverHere(callId: string, answer: Parameters<ClientOutputGate['deliver']>[1], by: OutputRequest['by']): void {
    const outputs = deps.outputs();
    if (!outputs) throw unrecord(callId, OUTPUT, new TokenwireError('unknown_call', `No tool call ${callId} is known.`));
    try {
      outputs.deliver(callId, answer, { authorize: () => true, by });
    } catch (error) {
      throw unrecord(callId, OUTPUT, error);
    }
  }

  /** The owner's answer to another instance's recorded decision or output: applied, or the gate's refusal. */
  async function appliedAnswer(callId: string, what: string, applyHere: () => void | Promise<void>): Promise<ControlAnswer> {
    try {
      await applyHere();
      return { ok: true };
    } catch (error) {
      const refused = toTokenwireError(error);
      log.warn({ callId, code: refused.code }, `a recorded ${what} found its call no longer waiting`);
      return { ok: false, code: refused.code, message: refused.message };
    }
  }

  async function decideThere(callId: string, owner: string, owns: boolean, { decision, reason, code, args, by }: DecideRequest): Promise<void> {
    const message: ControlMessage = {
      op: 'decide',
      callId,
      decision,
      transport: by.transport,
      owns,
      ...(reason !== undefined ? { reason } : {}),
      ...(code !== undefined ? { code } : {}),
      ...(args !== undefined ? { args } : {}),
      ...(by.subject !== undefined ? { subject: by.subject } : {}),
    };
    await sendRecorded(callId, owner, decision, message, owns);
  }

  /**
   * Records `state` for a call another instance owns and queues `message` for it in one step
   * (DECIDE_REMOTE), then waits for the owner's confirmation; one it never took is un-recorded.
   */
  async function sendRecorded(callId: string, owner: string, state: string, message: ControlMessage, owns = true): Promise<void> {
    const decision = state;
    const kind = state === OUTPUT ? 'output' : 'decision';
    // (`decision` is the state recorded: `approve`, `deny`, or `output`.)
    const result = await deps.control.request(owner, message, (json) =>
      scripts.decideRemote([KEYS.call(callId), KEYS.lease(owner), KEYS.controlQueue(owner)], [decision, Date.now(), json, CHANNELS.control(owner), 600_000, kind === 'output' ? 'output' : 'approval']),
    );
    // A caller only the tool's rule could admit learns nothing of a call that is not pending.
    if (result.status === 'refused' && !owns) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
    if (result.status === 'refused') throw refusal(result.verdict, callId, kind);
    if (result.status === 'answered' && !result.answer.ok) throw new TokenwireError(result.answer.code, result.answer.message);
    if (result.status === 'not_applied') {
      // Never taken by the owner: un-record it, so a retry is a first decision.
      await health.guard(() => scripts.swapState(KEYS.call(callId), decision, 'pending'));
      throw new TokenwireError('store_unavailable', 'The instance running this stream did not confirm the decision in time; it was not applied. Retry.');
    }
  }

  /**
   * A call's stream, owner and whether its tool has its own rule, from its record (written back
   * first when Redis lost it while the call waits here); `unknown_call`. The caller authorises.
   */
  async function locate(callId: string): Promise<{ streamId: string; owner: string; stream: StreamLog | undefined; rule: boolean }> {
    let call = await health.guard(() => redis.hgetall(KEYS.call(callId)));
    if (!call.streamId || !call.owner) {
      const here = pending.get(callId);
      if (!here) {
        if (await health.guard(() => deps.epoch.recovering())) throw recovering();
        throw new TokenwireError('unknown_call', `No tool call ${callId} is known.`);
      }
      // Redis lost the record (a restart) before this process wrote it back: write it now.
      await health.guard(() => restoreOne(callId, here));
      call = { streamId: here.streamId, owner: incarnation };
    }
    const streamId = call.streamId as string;
    return { streamId, owner: call.owner as string, stream: await deps.find(streamId), rule: call.rule === '1' };
  }

  return {
    gateHooks: {
      onPending({ callId, streamId, expiresAt, hasOwnRule, kind = 'approval' }) {
        pending.set(callId, { streamId, expiresAt, kind });
        const key = KEYS.call(callId);
        // `rule`: the tool decides who may decide, so another instance forwards a caller the default rule refuses.
        // `kind`: what the call waits for now, so an answer of the other kind is refused before it is recorded.
        redis.hset(key, { streamId, owner: incarnation, expiresAt: String(expiresAt), state: 'pending', kind, ...(hasOwnRule ? { rule: '1' } : {}) }).catch(() => {});
        redis.pexpire(key, recordTtl(expiresAt)).catch(() => {});
      },
      onSettled(callId, outcome) {
        // Any settle, an answered client tool's call too: it no longer waits here (nor is restored).
        pending.delete(callId);
        // An approved client tool's call waits for its output next: a repeated decision is then `already_decided`.
        if (outcome === 'approved') redis.hset(KEYS.call(callId), 'approved', '1').catch(() => {});
        // Decisions are recorded before they reach the gate; only what the gate decided alone is written here.
        if (outcome === 'expired' || outcome === 'cancelled') scripts.recordDecision(KEYS.call(callId), [outcome, Date.now(), '0']).catch(() => {});
      },
    },
    async deliverOutput(callId, request) {
      const { streamId, owner, stream } = await locate(callId);
      // Authorise before saying anything about the call's state, so a stranger learns nothing.
      if (!stream || !request.authorize(stream)) throw new TokenwireError('forbidden', 'This connection may not answer that tool call.');
      const { answer, by } = request;
      if (owner !== incarnation) {
        const message: ControlMessage = { op: 'output', callId, answer, transport: by.transport, ...(by.subject !== undefined ? { subject: by.subject } : {}) };
        await sendRecorded(callId, owner, OUTPUT, message);
        return { streamId };
      }
      const recorded = await health.guard(() => scripts.recordDecision(KEYS.call(callId), [OUTPUT, Date.now(), '1', 'output']));
      if (recorded !== 'ok') throw refusal(recorded, callId, 'output');
      try {
        deps.outputs()?.deliver(callId, answer, { authorize: () => true, by });
      } catch (error) {
        throw unrecord(callId, OUTPUT, error);
      }
      return { streamId };
    },
    async decide(callId, request) {
      const { streamId, owner, stream, rule } = await locate(callId);
      // Authorise before saying anything about the call's state, so a stranger learns nothing.
      if (!stream) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
      const owns = request.authorize(stream);
      if (owner !== incarnation) {
        // The tool's rule lives where the call waits: a caller the default rule refuses is asked
        // about there, and only for a tool with a rule (a record restored after a Redis restart
        // has lost the mark, and refuses such callers here).
        if (!owns && !rule) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
        await decideThere(callId, owner, owns, request);
        return { streamId };
      }
      // Here the rule is asked before anything is recorded: a refused caller changes nothing.
      const gate = deps.gate();
      const review = gate && pending.has(callId) ? await gate.review(callId, { owns, by: request.by, args: request.decision === 'approve' ? request.args : undefined }) : { allowed: owns };
      if (!review.allowed) throw new TokenwireError('forbidden', 'This connection may not decide that tool call.');
      const recorded = await health.guard(() => scripts.recordDecision(KEYS.call(callId), [request.decision, Date.now(), '1', 'approval']));
      if (recorded !== 'ok') throw refusal(recorded, callId);
      await decideHere(callId, owns, request);
      return { streamId };
    },
    async apply(message) {
      const by = { subject: message.subject, transport: message.transport };
      if (message.op === 'output') {
        return appliedAnswer(message.callId, 'tool output', () => deliverHere(message.callId, message.answer as Parameters<ClientOutputGate['deliver']>[1], by));
      }
      const { callId, decision, reason, code, args } = message;
      return appliedAnswer(callId, 'decision', () => decideHere(callId, message.owns ?? true, { decision, reason, code, args, by }));
    },
    restore() {
      for (const [callId, call] of pending) restoreOne(callId, call).catch(() => {});
    },
    async streamOf(callId) {
      return deps.gate()?.streamOf(callId) ?? ((await health.guard(() => redis.hget(KEYS.call(callId), 'streamId'))) || undefined);
    },
  };
}
