import type { ChatSummary } from '../engine/chat-summary.js';
import type { Logger } from '../observability/log.js';
import type { ChatHooks } from './chat-hooks.js';

/**
 * The `onError` and `onFinish` hooks as one call per ended generation: undefined when there is
 * nothing to run, else a promise that settles once both did and never rejects (a hook's throw
 * is logged; the stream's `done` is already out).
 */
export function createLifecycleHooks({ onFinish, onError }: Pick<ChatHooks, 'onFinish' | 'onError'>, log: Logger): (summary: ChatSummary) => Promise<void> | undefined {
  if (!onFinish && !onError) return () => undefined;
  const call = async (hook: 'onFinish' | 'onError', streamId: string, run: () => void | Promise<void>) => {
    try {
      await run();
    } catch (error) {
      log.error({ err: error, streamId, hook }, `${hook} failed`);
    }
  };
  return async (summary) => {
    const { streamId, subject, error } = summary;
    if (error && onError) await call('onError', streamId, () => onError({ streamId, subject, error }));
    if (!onFinish) return;
    const { text, reasoning, usage, reason, toolCalls } = summary;
    await call('onFinish', streamId, () => onFinish({ streamId, subject, text, ...(reasoning !== undefined ? { reasoning } : {}), usage, reason, toolCalls }));
  };
}
