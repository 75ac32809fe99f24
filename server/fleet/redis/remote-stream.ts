import { nanoid } from 'nanoid';
import { TokenwireError } from '../../../shared/errors.js';
import type { StreamLog } from '../../streams/hub.js';
import type { StreamStore } from '../../streams/stream-store.js';
import type { Control } from './control.js';
import type { Ownership } from './ownership.js';

/** A stream's metadata as the owner writes it into `tw:meta:<id>`. */
export interface StreamMeta {
  owner: string;
  instance: string;
  token: string;
  subject?: string | undefined;
  graceMs: number;
  createdAt: number;
  /** The first seq Redis refused to store (out of memory) while the owner keeps the rest; absent once they are written. */
  refused?: number | undefined;
}

/** The hash fields of a stream's metadata. */
export const metaFields = (meta: StreamMeta): Record<string, string> => ({
  owner: meta.owner,
  instance: meta.instance,
  token: meta.token,
  graceMs: String(meta.graceMs),
  createdAt: String(meta.createdAt),
  ...(meta.subject !== undefined ? { subject: meta.subject } : {}),
});

/** The metadata from its hash, or undefined when the hash is missing or incomplete. */
export function parseMeta(hash: Record<string, string>): StreamMeta | undefined {
  if (!hash.owner || !hash.token || !hash.instance) return undefined;
  return {
    owner: hash.owner,
    instance: hash.instance,
    token: hash.token,
    subject: hash.subject,
    graceMs: Number(hash.graceMs ?? 0),
    createdAt: Number(hash.createdAt ?? 0),
    refused: hash.refused === undefined ? undefined : Number(hash.refused),
  };
}

/**
 * A stream another instance runs, seen from here: its log through the shared store,
 * its control (cancel, viewers) sent to its owner, and its owner watched so a lost owner ends
 * it with `owner_lost`. It never appends; its end is known from the log.
 */
export function createRemoteStream(id: string, meta: StreamMeta, deps: { store: StreamStore; control: Control; ownership: Ownership; incarnation: string }): StreamLog {
  const { store, control, ownership } = deps;
  return {
    id,
    streamToken: meta.token,
    subject: meta.subject,
    createdAt: meta.createdAt,
    graceMs: meta.graceMs,
    done: false,
    lastSeq: -1,
    read(afterSeq) {
      // The owner holds frames Redis refused and writes them once it can: until then a view
      // here would wait for frames that are not in the log, so it is answered at once.
      if (meta.refused !== undefined) return Promise.reject(new TokenwireError('store_unavailable', 'The stream store refused some of this stream\'s frames; retry shortly.'));
      return store.read(id, afterSeq);
    },
    subscribe(listener) {
      const unwatch = ownership.watch(id, meta.owner);
      const unfollow = store.follow(id, listener);
      return () => {
        unfollow();
        unwatch();
      };
    },
    attachViewer() {
      const viewer = nanoid(10);
      control.send(meta.owner, { op: 'attach', streamId: id, viewer, from: deps.incarnation });
      let attached = true;
      return (reason = 'left') => {
        if (!attached) return;
        attached = false;
        control.send(meta.owner, { op: 'detach', streamId: id, viewer, reason });
      };
    },
    async cancel() {
      const result = await control.request(meta.owner, { op: 'cancel', streamId: id });
      if (result.status === 'refused') throw new TokenwireError('owner_lost', 'The instance running this stream stopped answering; it was not cancelled.');
      if (result.status === 'not_applied') throw new TokenwireError('store_unavailable', 'The instance running this stream did not confirm the cancel in time. Retry.');
      if (result.status === 'taken') return true;
      if (!result.answer.ok) throw new TokenwireError(result.answer.code, result.answer.message);
      return result.answer.cancelled ?? true;
    },
  };
}
