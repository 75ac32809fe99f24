import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import { z } from 'zod';
import { ERROR_CODE_LIST } from '../../../shared/errors.js';
import type { Logger } from '../../observability/log.js';
import { CHANNELS, KEYS } from './keys.js';
import type { Scripts } from './scripts.js';
import type { StoreHealth } from './store-health.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * What one instance asks of the owner of a stream: cancel it, apply a decision or a client
 * tool's output already recorded in Redis, count a viewer in or out.
 */
export const ControlMessage = z.discriminatedUnion('op', [
  z.object({ op: z.literal('cancel'), streamId: z.string() }),
  z.object({ op: z.literal('attach'), streamId: z.string(), viewer: z.string(), from: z.string() }),
  z.object({ op: z.literal('detach'), streamId: z.string(), viewer: z.string(), reason: z.enum(['left', 'dropped']) }),
  z.object({
    op: z.literal('decide'),
    callId: z.string(),
    decision: z.enum(['approve', 'deny']),
    reason: z.string().optional(),
    subject: z.string().optional(),
    transport: z.enum(['ws', 'http']),
    /** The default rule's verdict on the sender; absent from older senders, which forwarded only decisions it allowed. */
    owns: z.boolean().optional(),
    code: z.string().optional(),
    args: z.record(z.string(), z.unknown()).optional(),
  }),
  // A client tool's output, recorded in Redis before it is queued, for the owner's output gate.
  z.object({
    op: z.literal('output'),
    callId: z.string(),
    answer: z.union([z.object({ ok: z.literal(true), output: z.unknown() }), z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) })]),
    subject: z.string().optional(),
    transport: z.enum(['ws', 'http']),
  }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;

/** The owner's answer to a message it was asked to confirm: applied (a cancel says whether the stream was running), or the typed error it met. */
export const ControlAnswer = z.union([
  z.object({ ok: z.literal(true), cancelled: z.boolean().optional() }),
  z.object({ ok: z.literal(false), code: z.enum(ERROR_CODE_LIST), message: z.string() }),
]);
export type ControlAnswer = z.infer<typeof ControlAnswer>;

/** A queued message: `id` (first, so the take script finds it) and `from` only when its sender waits for the answer. */
const Envelope = z.object({ id: z.string().optional(), from: z.string().optional(), message: ControlMessage });
const Ack = z.object({ op: z.literal('ack'), id: z.string(), answer: ControlAnswer });

/**
 * How a confirmed request ended: `answered` by the owner; `taken` (the owner took it, its
 * answer did not come back in time); `not_applied` (the owner never took it: withdrawn, or
 * lost with a Redis restart); or `refused` by the enqueue step (`owner_lost`, a decision's state).
 */
export type ControlResult = { status: 'answered'; answer: ControlAnswer } | { status: 'taken' } | { status: 'not_applied' } | { status: 'refused'; verdict: string };

export interface Control {
  /** Queues a message for the owner without waiting for it (viewers attaching and leaving); dropped when the owner's lease is gone. */
  send(owner: string, message: ControlMessage): void;
  /**
   * Queues a message for the owner and waits for its answer, at most `ackMs`. `enqueue` replaces
   * the plain enqueue step (a decision records itself in the same script); its answer other than
   * `ok` ends the request at once. Throws `store_unavailable` when Redis does not answer.
   */
  request(owner: string, message: ControlMessage, enqueue?: (json: string) => Promise<string>): Promise<ControlResult>;
  /** Takes and applies what waits in this process's queue (also done on every wake-up and reconnect). */
  drain(): void;
  /** Resolves once this process listens to its own channel. */
  readonly ready: Promise<void>;
  stop(): void;
}

export interface ControlOptions {
  redis: Redis;
  scripts: Scripts;
  subscriptions: Subscriptions;
  health: Pick<StoreHealth, 'guard'>;
  incarnation: string;
  /** How long a sender waits for the owner's answer before it takes its message back. */
  ackMs: number;
  /** How often the owner takes its queue without a wake-up (one lost while its subscriber resubscribed). Well under `ackMs`. */
  drainMs: number;
  log: Logger;
  /** Applies a message to this process's streams; the answer goes back to a sender that waits. */
  onMessage(message: ControlMessage): ControlAnswer | Promise<ControlAnswer>;
}

/** A dead owner's queue goes after this long; a live owner empties it at once. */
const QUEUE_TTL_MS = 600_000;
const ACK_TTL_MS = 60_000;
const BATCH = 100;

/**
 * Control between instances through Redis. A message is queued in the owner's list
 * (`tw:ctlq:<owner>`) and the owner is woken on its channel; the owner takes its queue on every
 * wake-up, when its subscriber or its connection comes back, and every `drainMs`, so nothing is
 * lost while it reconnects. A sender that must know (cancel, decisions) waits for the
 * owner's answer; without one in time it takes the message back (it will never be applied) or
 * learns that the owner has it.
 */
export function createControl(options: ControlOptions): Control {
  const { redis, scripts, health, incarnation, log } = options;
  const waiting = new Map<string, (answer?: ControlAnswer) => void>();
  const queueOf = (owner: string) => KEYS.controlQueue(owner);
  let draining = false;
  let again = false;

  const listening = options.subscriptions.listen(CHANNELS.control(incarnation), (raw) => {
    if (raw === 'q') return drain();
    const ack = parse(Ack, raw);
    if (ack) return void waiting.get(ack.id)?.(ack.answer);
    // Published whole by an instance of the version before the queue, during a rolling upgrade.
    const published = parse(ControlMessage, raw);
    if (published) return void options.onMessage(published);
    log.warn({ raw: raw.slice(0, 200) }, 'ignored a control message that is not one');
  });

  function parse<T>(schema: z.ZodType<T>, raw: string): T | undefined {
    try {
      const parsed = schema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  // A decision may wait on the app (a tool's authorize, an edit's schema), so the answer may be a promise.
  async function apply(raw: string): Promise<void> {
    const envelope = parse(Envelope, raw);
    if (!envelope) return void log.warn({ raw: raw.slice(0, 200) }, 'ignored a queued control message that is not one');
    let answer: ControlAnswer;
    try {
      answer = await options.onMessage(envelope.message);
    } catch (error) {
      log.error({ err: error, op: envelope.message.op }, 'control message failed');
      answer = { ok: false, code: 'internal', message: 'The owner failed to apply it.' };
    }
    if (envelope.id === undefined || envelope.from === undefined) return;
    const json = JSON.stringify(answer);
    redis.set(KEYS.ack(envelope.id), json, 'PX', ACK_TTL_MS).catch(() => {});
    redis.publish(CHANNELS.control(envelope.from), JSON.stringify({ op: 'ack', id: envelope.id, answer })).catch(() => {});
  }

  function drain(): void {
    if (draining) return void (again = true);
    draining = true;
    again = false;
    scripts
      .takeControl(queueOf(incarnation), [BATCH, KEYS.ack(''), ACK_TTL_MS])
      .then((items) => {
        for (const raw of items) void apply(raw);
        if (items.length === BATCH) again = true;
      })
      .catch((error: unknown) => log.warn({ err: error }, 'could not take the control queue; trying again on the next beat'))
      .finally(() => {
        draining = false;
        if (again) drain();
      });
  }

  /** Resolves with the owner's answer, or undefined after `ackMs`. */
  function answerOf(id: string): { answer: Promise<ControlAnswer | undefined>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<ControlAnswer | undefined>((resolve) => {
      waiting.set(id, resolve);
      timer = setTimeout(() => resolve(undefined), options.ackMs);
    }).finally(() => {
      clearTimeout(timer);
      waiting.delete(id);
    });
    return { answer, cancel: () => waiting.get(id)?.() };
  }

  options.subscriptions.onReconnect(drain);
  redis.on('ready', drain);
  const timer = setInterval(drain, options.drainMs);
  timer.unref();

  return {
    send(owner, message) {
      const json = JSON.stringify({ message });
      scripts.enqueue([KEYS.lease(owner), queueOf(owner)], [json, CHANNELS.control(owner), QUEUE_TTL_MS]).catch((error: unknown) => log.warn({ err: error, op: message.op }, 'control message not sent'));
    },
    async request(owner, message, enqueue) {
      const id = nanoid();
      // `id` first: the take script marks the message taken by it.
      const json = JSON.stringify({ id, from: incarnation, message });
      const pending = answerOf(id);
      let queued: string;
      try {
        queued = await health.guard(() => (enqueue ? enqueue(json) : scripts.enqueue([KEYS.lease(owner), queueOf(owner)], [json, CHANNELS.control(owner), QUEUE_TTL_MS])));
      } catch (error) {
        pending.cancel();
        throw error;
      }
      if (queued !== 'ok') {
        pending.cancel();
        return { status: 'refused', verdict: queued };
      }
      const answer = await pending.answer;
      if (answer) return { status: 'answered', answer };
      const left = await health.guard(() => scripts.withdraw([queueOf(owner), KEYS.ack(id)], json));
      if (left === 'withdrawn' || left === 'lost') return { status: 'not_applied' };
      if (left === 'taken') return { status: 'taken' };
      const late = parse(ControlAnswer, left);
      return late ? { status: 'answered', answer: late } : { status: 'taken' };
    },
    drain,
    ready: listening.ready.then(drain),
    stop() {
      clearInterval(timer);
      listening.stop();
    },
  };
}
