import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { CHANNELS } from './keys.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * What one instance asks of the owner of a stream (issue 10), through the owner's control
 * channel: cancel it, apply a decision already recorded in Redis, count a viewer in or out.
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
  }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;

export interface Control {
  /** Sends a message to the owner incarnation's channel. */
  send(owner: string, message: ControlMessage): void;
  /** Resolves once this process listens to its own channel. */
  readonly ready: Promise<void>;
  stop(): void;
}

/** This process's control channel: messages for the generations it owns, handed to `onMessage`. */
export function createControl(options: { redis: Redis; subscriptions: Subscriptions; incarnation: string; log: Logger; onMessage(message: ControlMessage): void }): Control {
  const { redis, log } = options;
  const listening = options.subscriptions.listen(CHANNELS.control(options.incarnation), (raw) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const message = ControlMessage.safeParse(parsed);
    if (!message.success) {
      log.warn({ raw: raw.slice(0, 200) }, 'ignored a control message that is not one');
      return;
    }
    options.onMessage(message.data);
  });
  return {
    send(owner, message) {
      redis.publish(CHANNELS.control(owner), JSON.stringify(message)).catch((error: unknown) => log.warn({ err: error, op: message.op }, 'control message not sent'));
    },
    ready: listening.ready,
    stop: listening.stop,
  };
}
