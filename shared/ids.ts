import { customAlphabet, nanoid } from 'nanoid';

/** A new stream id: url-safe, 21 random characters behind a readable prefix. */
export const newStreamId = (): string => `st_${nanoid()}`;

/** A new tool call id. */
export const newCallId = (): string => `call_${nanoid()}`;

/** A secret that lets an HTTP request decide a stream's approvals (SSE has no back channel). */
export const newApprovalToken = (): string => `apr_${nanoid(32)}`;

const alnum = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** A short id for client-side correlation (the `id` of a WebSocket `start` frame). */
export const newClientId = (): string => `c_${alnum()}`;

/** A chat start's idempotency key (protocol minor 3): 32 url-safe random characters, unguessable. */
export const newIdempotencyKey = (): string => `idk_${nanoid(32)}`;
