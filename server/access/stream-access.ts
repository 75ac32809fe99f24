import { HEADERS } from '../../shared/protocol.js';
import { timingSafeEqual } from 'node:crypto';
import type { Stream } from '../streams/hub.js';
import { bearerOf, queryParam, type AuthRequest } from './authenticator.js';

/** Who is asking, as far as limits and stream access care. */
export interface Identity {
  /** The authenticated subject; undefined for anonymous use. */
  readonly subject: string | undefined;
  /** The client's address (X-Forwarded-For only through TRUST_PROXY). */
  readonly address: string;
}

/**
 * Who asks to view, cancel or decide a stream, on any edge: the authenticated subject, the
 * stream token shown (`X-Stream-Token`, `?token=`, a frame's `token`), and whether the
 * connection already holds the capability (the socket that started the stream, or resumed it
 * with its token).
 */
/** Who asks for a stream on an HTTP route: the authenticated subject (if any) and the stream token shown (if any). */
export interface StreamAccess {
  subject: string | undefined;
  token: string | undefined;
}

export interface Caller {
  readonly subject: string | undefined;
  readonly token?: string | undefined;
  readonly holds?: boolean | undefined;
}

/**
 * The one access rule, for every route, socket and wire: a stream started by a subject belongs
 * to that subject alone (its token lets nobody else in); an anonymous stream belongs to whoever
 * holds or shows its stream token (compared in constant time).
 */
export function canControl(stream: Pick<Stream, 'subject' | 'streamToken'>, caller: Caller): boolean {
  if (stream.subject !== undefined) return caller.subject === stream.subject;
  return caller.holds === true || streamTokenMatches(stream.streamToken, caller.token);
}

/**
 * Who may decide a tool call, on every route and socket: the tool's own rule
 * (`approval.authorize`) when it has one, told what `canControl` said (`owns`); else `owns`.
 * A rule that throws or rejects refuses: a broken rule must not let anyone in.
 */
/** Who asks to decide a tool call, as a tool's rule sees them (the shape of `ToolDecider`). */
export interface Decider {
  readonly subject: string | undefined;
  readonly transport: 'ws' | 'http';
  /** What `canControl` said. */
  readonly owns: boolean;
}

export async function canDecide(
  owns: boolean,
  decider: Omit<Decider, 'owns'>,
  toolRule: ((decider: Decider) => boolean | Promise<boolean>) | undefined,
): Promise<boolean> {
  if (!toolRule) return owns;
  try {
    return (await toolRule({ subject: decider.subject, transport: decider.transport, owns })) === true;
  } catch {
    return false;
  }
}

/**
 * The stream token a request shows: `X-Stream-Token`, else `?token=` (EventSource cannot set
 * headers). Protocol 1 sent it as `Authorization: Bearer`; that is still read for one version
 * when `legacyBearer` (AUTH=none, so the header means nothing else).
 */
export function streamTokenOf(request: AuthRequest, legacyBearer: boolean): string | undefined {
  const header = request.headers.get(HEADERS.streamToken);
  if (header) return header;
  const fromQuery = queryParam(request, 'token');
  if (fromQuery) return fromQuery;
  return legacyBearer ? bearerOf(request.headers.get('authorization')) : undefined;
}

/** Compares a presented approval token with the stream's in constant time. */
export function streamTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
