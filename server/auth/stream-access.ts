import { HEADERS } from '../../shared/protocol.js';
import { approvalTokenMatches } from '../engine/approvals.js';
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
 * Whether a requester may view, cancel or decide a stream (issue 12): a stream started by a
 * subject belongs to that subject alone; an anonymous stream to whoever shows its stream token.
 */
export function mayAccessStream(stream: Pick<Stream, 'subject' | 'approvalToken'>, subject: string | undefined, token: string | undefined): boolean {
  if (stream.subject !== undefined) return subject === stream.subject;
  return approvalTokenMatches(stream.approvalToken, token);
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
