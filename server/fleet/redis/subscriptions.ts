import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/log.js';

/** A handler of one channel's messages. */
export type MessageHandler = (message: string) => void;

/** One subscriber connection shared by every channel of the process (no connection per viewer). */
export interface Subscriptions {
  /**
   * Listens to `channel`; the promise resolves once Redis confirmed the subscription, so
   * anything published after it reaches `handler`. Returns the function that stops listening.
   */
  listen(channel: string, handler: MessageHandler): { ready: Promise<void>; stop(): void };
  /** Called after the connection came back (ioredis subscribed again): a gap may need reading. */
  onReconnect(callback: () => void): void;
}

/** Channels by name with their handlers: SUBSCRIBE on the first, UNSUBSCRIBE after the last. */
export function createSubscriptions(subscriber: Redis, log: Logger): Subscriptions {
  const channels = new Map<string, { handlers: Set<MessageHandler>; ready: Promise<void> }>();
  const reconnectCallbacks: (() => void)[] = [];
  let connectedOnce = subscriber.status === 'ready';

  subscriber.on('message', (channel: string, message: string) => {
    const entry = channels.get(channel);
    if (!entry) return;
    for (const handler of entry.handlers) {
      try {
        handler(message);
      } catch (error) {
        log.error({ err: error, channel }, 'Redis message handler failed');
      }
    }
  });
  subscriber.on('ready', () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    for (const callback of reconnectCallbacks) callback();
  });

  return {
    listen(channel, handler) {
      let entry = channels.get(channel);
      if (!entry) {
        const ready = subscriber.subscribe(channel).then(
          () => undefined,
          (error: unknown) => log.warn({ err: error, channel }, 'Redis SUBSCRIBE failed'),
        );
        entry = { handlers: new Set(), ready };
        channels.set(channel, entry);
      }
      const current = entry;
      current.handlers.add(handler);
      return {
        ready: current.ready,
        stop() {
          if (!current.handlers.delete(handler) || current.handlers.size > 0) return;
          if (channels.get(channel) !== current) return;
          channels.delete(channel);
          subscriber.unsubscribe(channel).catch(() => {});
        },
      };
    },
    onReconnect: (callback) => void reconnectCallbacks.push(callback),
  };
}
