/**
 * Every Redis key and channel tokenwire uses, in one place so an operator can find
 * them: `tw:` then what it holds. A stream's log is a Redis Stream whose entry id is `0-<seq+1>`,
 * so ids are the frames' own numbers and a second writer of a seq is refused by Redis itself.
 */
export const KEYS = {
  /** A stream's frames (Redis Stream, field `f` = the frame's JSON). */
  log: (streamId: string) => `tw:log:${streamId}`,
  /** A stream's metadata (hash): owner, instance, subject, token, graceMs, createdAt. */
  meta: (streamId: string) => `tw:meta:${streamId}`,
  /** An instance incarnation's lease (string, PX OWNER_LEASE_MS): it owns its generations while this exists. */
  lease: (incarnation: string) => `tw:lease:${incarnation}`,
  /** A tool call awaiting or past its decision (hash): streamId, owner, expiresAt, state. */
  call: (callId: string) => `tw:call:${callId}`,
  /** A stream's approval audit records (list of JSON). */
  audit: (streamId: string) => `tw:audit:${streamId}`,
  /** Streams a client has generating, counted per owner incarnation (hash). */
  openStreams: (clientKey: string) => `tw:lim:open:${clientKey}`,
  /** A client's token bucket of stream starts (hash: tokens, at). */
  starts: (clientKey: string) => `tw:lim:starts:${clientKey}`,
  /**
   * A chat start's idempotency key, scoped to its caller (string): while its start is admitted and
   * makes its stream, JSON claim + fingerprint (PX a few seconds); then JSON streamId + fingerprint (PX the resume window).
   */
  start: (scopedKey: string) => `tw:start:${scopedKey}`,
  /** An interop conversation (AI SDK chat, AG-UI thread or run), scoped to its caller (hash: streamId, streamToken, fromSeq, …, ttlMs; PX ttlMs from its last use). */
  conversation: (scopedKey: string) => `tw:conv:${scopedKey}`,
  /** Control messages for one instance incarnation (list, oldest first): kept until it takes them, so none is lost while it reconnects. */
  controlQueue: (incarnation: string) => `tw:ctlq:${incarnation}`,
  /** The owner's answer to one control message (string: `taken`, then its JSON answer; PX a minute). */
  ack: (messageId: string) => `tw:ack:${messageId}`,
  /**
   * The fleet's store epoch (string, no expiry): written by the first instance to meet an empty
   * Redis, so an instance that finds another one (or none) knows Redis lost its data.
   */
  epoch: 'tw:epoch',
  /** Present (PX one owner lease) while owners write back what a Redis that lost its data no longer has. */
  recovering: 'tw:recovering',
  /** A key this incarnation writes to learn whether Redis takes writes again after refusing them (out of memory). */
  probe: (incarnation: string) => `tw:probe:${incarnation}`,
} as const;

export const CHANNELS = {
  /** Every frame appended to a stream's log, as its JSON, for live views on other instances. */
  frames: (streamId: string) => `tw:frames:${streamId}`,
  /** A start key's claim was filled or dropped: starts of the same key waiting on other instances claim again. */
  started: (scopedKey: string) => `tw:started:${scopedKey}`,
  /** Control for one instance incarnation: `q` when its queue has a message, and the answers (acks) to what it asked others. */
  control: (incarnation: string) => `tw:ctl:${incarnation}`,
} as const;

/** The entry id of a frame's seq in its log (ids must be above 0-0). */
export const entryId = (seq: number): string => `0-${seq + 1}`;

/** The seq of a log entry id. */
export const seqOf = (id: string): number => Number(id.slice(id.indexOf('-') + 1)) - 1;
