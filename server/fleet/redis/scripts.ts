// Over 300 lines on purpose: every Lua script the fleet runs atomically, each with its KEYS and ARGV, beside the one table that registers them.
import type { Redis } from 'ioredis';

// The few steps that must be atomic across instances, as Lua run by Redis (EVALSHA, loaded once
// by ioredis' defineCommand). Each is a handful of lines; the callers say why each step is there.

/**
 * Ends a stream whose owner's lease is gone: appends `error` (owner_lost) and `done`
 * after the last frame and publishes them. Refused (0) while the lease exists or once the log
 * has its `done`; because entry ids are seqs, an owner that comes back cannot append after it.
 * KEYS: log, owner's lease, meta. ARGV: stream id, frames channel, ttl ms, message.
 */
const TAKEOVER = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return 0 end
local json = last[1][2][2]
if string.sub(json, 1, 14) == '{"type":"done"' then return 0 end
local seq = tonumber(string.match(last[1][1], '%-(%d+)$'))
local err = '{"type":"error","streamId":"' .. ARGV[1] .. '","seq":' .. string.format('%d', seq) .. ',"code":"owner_lost","message":"' .. ARGV[4] .. '","retryable":true}'
local done = '{"type":"done","streamId":"' .. ARGV[1] .. '","seq":' .. string.format('%d', seq + 1) .. ',"reason":"error"}'
redis.call('XADD', KEYS[1], '0-' .. string.format('%d', seq + 1), 'f', err)
redis.call('XADD', KEYS[1], '0-' .. string.format('%d', seq + 2), 'f', done)
redis.call('PUBLISH', ARGV[2], err)
redis.call('PUBLISH', ARGV[2], done)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
`;

/**
 * Records a tool call's outcome once (recorded before it is applied). Returns `ok`,
 * `unknown`, `expired` (the window closed, now recorded) or the state already recorded; with
 * ARGV[4], the kind of answer (`approval` or `output`), an answer the call does not wait for is
 * `wrong_kind` (or `approve` for a decision on an approved call now waiting for its output),
 * recording nothing. KEYS: call. ARGV: state, now ms, whether the expiry applies ('1'), kind or ''.
 */
const RECORD_DECISION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
local kind = redis.call('HGET', KEYS[1], 'kind')
if ARGV[4] and ARGV[4] ~= '' and kind and kind ~= ARGV[4] then
  if redis.call('HGET', KEYS[1], 'approved') == '1' then return 'approve' end
  return 'wrong_kind'
end
if state ~= 'pending' then return state end
if ARGV[3] == '1' and tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return 'expired'
end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 'ok'
`;

/**
 * Admits a stream under one client's limits across instances (the per-client limits, shared):
 * counts open streams per owner incarnation, forgetting owners whose lease is gone, then takes
 * a token from the starts bucket. Returns {0} admitted, {1, waitMs} too many open, {2, waitMs}
 * rate limited. KEYS: open, starts. ARGV: max open, capacity, window ms, now ms, incarnation, lease prefix.
 */
const ADMIT = `
local open = redis.call('HGETALL', KEYS[1])
local count = 0
for i = 1, #open, 2 do
  if redis.call('EXISTS', ARGV[6] .. open[i]) == 0 then redis.call('HDEL', KEYS[1], open[i])
  else count = count + tonumber(open[i + 1]) end
end
if count >= tonumber(ARGV[1]) then return {1, 1000} end
local capacity = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[2], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + (now - at) * capacity / window)
if tokens < 1 then return {2, math.ceil((1 - tokens) * window / capacity)} end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[2], window)
redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
return {0, 0}
`;

/** Gives back one open stream of a client; the field goes when it reaches 0. KEYS: open. ARGV: incarnation. */
const RELEASE = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`;

/**
 * Queues a control message for an owner that holds its lease, and wakes it. Returns `ok`, or
 * `owner_lost` (nothing queued) when the lease is gone.
 * KEYS: owner's lease, owner's queue. ARGV: message JSON, owner's channel, queue ttl ms.
 */
const ENQUEUE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'owner_lost' end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[2], 'q')
return 'ok'
`;

/**
 * Records a decision for a call another instance runs and queues it for that owner, in one
 * step: nothing is recorded when the owner's lease is gone (`owner_lost`), so a retry is not
 * refused as decided. Otherwise the answers of RECORD_DECISION.
 * KEYS: call, owner's lease, owner's queue. ARGV: decision, now ms, message JSON, owner's channel,
 * queue ttl ms, kind of answer (as RECORD_DECISION's ARGV[4]).
 */
const DECIDE_REMOTE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
local kind = redis.call('HGET', KEYS[1], 'kind')
if ARGV[6] and ARGV[6] ~= '' and kind and kind ~= ARGV[6] then
  if redis.call('HGET', KEYS[1], 'approved') == '1' then return 'approve' end
  return 'wrong_kind'
end
if state ~= 'pending' then return state end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return 'expired'
end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'owner_lost' end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[4], 'q')
return 'ok'
`;

/**
 * Takes up to a batch of this owner's queued control messages, oldest first. Each that waits
 * for an answer (its JSON starts with its id) is marked `taken` first, so its sender can tell
 * "the owner has it" from "never arrived". The marks are written before the trim: a refused
 * write leaves the queue whole.
 * KEYS: queue. ARGV: batch size, ack key prefix, ack ttl ms.
 */
const TAKE_CONTROL = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
for i = 1, #items do
  local id = string.match(items[i], '^{"id":"([^"]+)"')
  if id then redis.call('SET', ARGV[2] .. id, 'taken', 'PX', ARGV[3]) end
end
if #items > 0 then redis.call('LTRIM', KEYS[1], #items, -1) end
return items
`;

/**
 * Takes back a control message the owner did not answer in time: `withdrawn` when it was still
 * queued (it will never be applied), else the owner's answer or `taken`, or `lost` when
 * Redis has neither (it restarted). KEYS: owner's queue, the message's ack. ARGV: message JSON.
 */
const WITHDRAW = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then return 'withdrawn' end
local ack = redis.call('GET', KEYS[2])
if ack then return ack end
return 'lost'
`;

/** Sets a call's state to ARGV[2] if it is ARGV[1]; returns 1 when it did. KEYS: call. */
const SWAP_STATE = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
return 1
`;

/**
 * Writes a pending call's record back when Redis no longer has it (restarted without
 * persistence); an existing record is left alone. KEYS: call. ARGV: stream id, owner, expiresAt, ttl ms, kind.
 */
const RESTORE_CALL = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'streamId', ARGV[1], 'owner', ARGV[2], 'expiresAt', ARGV[3], 'state', 'pending', 'kind', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/**
 * Meets the store's epoch (KEYS: epoch, recovering; ARGV: a new epoch id, the epoch this
 * instance knew or '', the recovery window in ms) and returns it. An epoch other than the one
 * this instance knew means Redis lost its data: the recovery window opens, during which a
 * missing record may only be one its owner has not written back yet.
 */
const MEET_EPOCH = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
if ARGV[2] ~= '' and ARGV[2] ~= epoch then redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]) end
return epoch
`;

/**
 * Marks a stream's metadata: Redis refused its frames from seq ARGV[1] on, so other instances
 * answer a resume at once instead of waiting for frames that are not there. Allowed out of
 * memory (Redis 7 script flags): one small field, written when every other write is refused.
 * KEYS: meta.
 */
const MARK_REFUSED = `#!lua flags=allow-oom
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'refused', ARGV[1])
return 1
`;

/**
 * Writes an interop conversation (hash) in place of what its key held, for ARGV[1] ms, which it
 * keeps (field ttlMs) for GET_CONVERSATION. KEYS: conversation. ARGV: ttl ms, then field, value pairs.
 */
const SET_CONVERSATION = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ttlMs', ARGV[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * Reads an interop conversation and keeps it for its ttlMs again: a conversation in use lives
 * as long as its stream may still be resumed. KEYS: conversation. Returns HGETALL's pairs.
 */
const GET_CONVERSATION = `
local fields = redis.call('HGETALL', KEYS[1])
local ttl = redis.call('HGET', KEYS[1], 'ttlMs')
if ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return fields
`;

/**
 * Claims a chat start's idempotency key for a start about to be admitted, unless a record or
 * another claim holds it. Returns the value that holds: ARGV[1] when this claim did.
 * KEYS: start key. ARGV: claim JSON, reserve ms.
 */
const CLAIM_START = `
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

/**
 * Replaces a claim with the record of the stream it started and wakes the starts waiting for
 * it; 0 (nothing written) when the claim is no longer there. KEYS: start key. ARGV: claim JSON,
 * record JSON, ttl ms, the key's channel.
 */
const FILL_START = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], 'filled')
return 1
`;

/** Removes a claim whose start failed (if it still holds) and wakes the starts waiting for it. KEYS: start key. ARGV: claim JSON, channel. */
const DROP_START = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], 'dropped')
return 1
`;

type Arg = string | number;

/** What a call waits for now, in its record (`kind`): a person's decision, or a client tool's output. */
export type CallKind = 'approval' | 'output';

/** The scripts as functions of one connection. */
export interface Scripts {
  takeover(keys: [string, string, string], args: [string, string, number, string]): Promise<number>;
  recordDecision(key: string, args: [string, number, '0' | '1'] | [string, number, '0' | '1', CallKind]): Promise<string>;
  admit(keys: [string, string], args: [number, number, number, number, string, string]): Promise<[number, number]>;
  release(key: string, incarnation: string): Promise<number>;
  enqueue(keys: [lease: string, queue: string], args: [message: string, channel: string, ttlMs: number]): Promise<string>;
  decideRemote(keys: [call: string, lease: string, queue: string], args: [decision: string, now: number, message: string, channel: string, ttlMs: number, kind: CallKind]): Promise<string>;
  takeControl(queue: string, args: [batch: number, ackPrefix: string, ackTtlMs: number]): Promise<string[]>;
  withdraw(keys: [queue: string, ack: string], message: string): Promise<string>;
  swapState(call: string, from: string, to: string): Promise<number>;
  restoreCall(call: string, args: [streamId: string, owner: string, expiresAt: number, ttlMs: number, kind: CallKind]): Promise<number>;
  markRefused(meta: string, seq: number): Promise<number>;
  meetEpoch(keys: [epoch: string, recovering: string], args: [fresh: string, known: string, windowMs: number]): Promise<string>;
  setConversation(key: string, ttlMs: number, fields: Record<string, string>): Promise<number>;
  getConversation(key: string): Promise<string[]>;
  claimStart(key: string, args: [claim: string, reserveMs: number]): Promise<string>;
  fillStart(key: string, args: [claim: string, record: string, ttlMs: number, channel: string]): Promise<number>;
  dropStart(key: string, args: [claim: string, channel: string]): Promise<number>;
}

export function defineScripts(redis: Redis): Scripts {
  const define = (name: string, numberOfKeys: number, lua: string) => {
    redis.defineCommand(name, { numberOfKeys, lua });
    const command = (redis as unknown as Record<string, (...args: Arg[]) => Promise<unknown>>)[name] as (...args: Arg[]) => Promise<unknown>;
    return (...args: Arg[]) => command.apply(redis, args);
  };
  const takeover = define('twTakeover', 3, TAKEOVER);
  const recordDecision = define('twRecordDecision', 1, RECORD_DECISION);
  const admit = define('twAdmit', 2, ADMIT);
  const release = define('twRelease', 1, RELEASE);
  const enqueue = define('twEnqueue', 2, ENQUEUE);
  const decideRemote = define('twDecideRemote', 3, DECIDE_REMOTE);
  const takeControl = define('twTakeControl', 1, TAKE_CONTROL);
  const withdraw = define('twWithdraw', 2, WITHDRAW);
  const swapState = define('twSwapState', 1, SWAP_STATE);
  const restoreCall = define('twRestoreCall', 1, RESTORE_CALL);
  const markRefused = define('twMarkRefused', 1, MARK_REFUSED);
  const meetEpoch = define('twMeetEpoch', 2, MEET_EPOCH);
  const setConversation = define('twSetConversation', 1, SET_CONVERSATION);
  const getConversation = define('twGetConversation', 1, GET_CONVERSATION);
  const claimStart = define('twClaimStart', 1, CLAIM_START);
  const fillStart = define('twFillStart', 1, FILL_START);
  const dropStart = define('twDropStart', 1, DROP_START);
  return {
    takeover: (keys, args) => takeover(...keys, ...args) as Promise<number>,
    recordDecision: (key, args) => recordDecision(key, ...args) as Promise<string>,
    admit: (keys, args) => admit(...keys, ...args) as Promise<[number, number]>,
    release: (key, incarnation) => release(key, incarnation) as Promise<number>,
    enqueue: (keys, args) => enqueue(...keys, ...args) as Promise<string>,
    decideRemote: (keys, args) => decideRemote(...keys, ...args) as Promise<string>,
    takeControl: (queue, args) => takeControl(queue, ...args) as Promise<string[]>,
    withdraw: (keys, message) => withdraw(...keys, message) as Promise<string>,
    swapState: (call, from, to) => swapState(call, from, to) as Promise<number>,
    restoreCall: (call, args) => restoreCall(call, ...args) as Promise<number>,
    markRefused: (meta, seq) => markRefused(meta, seq) as Promise<number>,
    meetEpoch: (keys, args) => meetEpoch(...keys, ...args) as Promise<string>,
    setConversation: (key, ttlMs, fields) => setConversation(key, ttlMs, ...Object.entries(fields).flat()) as Promise<number>,
    getConversation: (key) => getConversation(key) as Promise<string[]>,
    claimStart: (key, args) => claimStart(key, ...args) as Promise<string>,
    fillStart: (key, args) => fillStart(key, ...args) as Promise<number>,
    dropStart: (key, args) => dropStart(key, ...args) as Promise<number>,
  };
}
