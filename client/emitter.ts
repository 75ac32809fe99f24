/** A typed event emitter: `on` returns its own unsubscribe. */
export interface Emitter<Events> {
  on<E extends keyof Events>(event: E, listener: (value: Events[E]) => void): () => void;
  emit<E extends keyof Events>(event: E, value: Events[E]): void;
  clear(): void;
}

/**
 * A listener that throws must not break the stream that called it, nor the other listeners:
 * its error is rethrown on a fresh task, where the page's error handler sees it.
 */
export function createEmitter<Events>(): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<(value: never) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (value: never) => void);
      return () => void set.delete(listener as (value: never) => void);
    },
    emit(event, value) {
      const set = listeners.get(event);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          (listener as (value: Events[typeof event]) => void)(value);
        } catch (error) {
          setTimeout(() => {
            throw error;
          }, 0);
        }
      }
    },
    clear() {
      listeners.clear();
    },
  };
}
