import type { StreamStats, TransportName } from './types.js';

/** Inter-token gaps a stream keeps for its sparkline: the most recent ones. */
export const MAX_TOKEN_GAPS = 120;

/** What a stream tells its clock; `snapshot` turns it into `StreamStats`. */
export interface StreamClock {
  frame(): void;
  bytes(count: number): void;
  /** A token (or reasoning) frame with this many UTF-8 payload bytes. */
  token(payloadBytes: number, answer: boolean): void;
  /** A tool call that waits for a person was shown. */
  toolCall(waitsForDecision: boolean): void;
  /** A decision was sent for a waiting call (the approval wait ends, the round trip starts). */
  decided(callId: string): void;
  /** A tool call waiting for a decision was answered without one (expired, decided elsewhere). */
  undecided(): void;
  toolResult(callId: string): void;
  /** The connection carrying the stream dropped. */
  lost(): void;
  reconnect(): void;
  end(): void;
  readonly reconnects: number;
  snapshot(transport: TransportName): StreamStats;
}

/**
 * The timings and counters a stream keeps about itself: time to the first token with
 * the person's approval wait left out, time to the first tool call, the approval round trip
 * (decision sent → `tool_result`), gaps between tokens, payload against wire bytes, and how
 * long the last resume took (drop → first frame after it).
 */
export function createStreamClock(now: () => number): StreamClock {
  const startedAt = now();
  const counters = { tokens: 0, frames: 0, bytes: 0, payloadBytes: 0, reconnects: 0 };
  let firstTokenAt: number | undefined;
  let lastTokenAt: number | undefined;
  let toolCallAt: number | undefined;
  /** Since when a tool call has been waiting for the person, if one is. */
  let waitingSince: number | undefined;
  let approvalWaitMs = 0;
  /** Approval wait that had passed when the first token came. */
  let waitBeforeFirstToken = 0;
  const decidedAt = new Map<string, number>();
  let approvalRoundTripMs: number | undefined;
  let lostAt: number | undefined;
  let resumeMs: number | undefined;
  let endedAt: number | undefined;
  const gaps: number[] = [];

  const stopWaiting = (at: number) => {
    if (waitingSince === undefined) return;
    approvalWaitMs += at - waitingSince;
    waitingSince = undefined;
  };

  return {
    frame() {
      counters.frames++;
      if (lostAt === undefined) return;
      resumeMs = now() - lostAt;
      lostAt = undefined;
    },
    bytes(count) {
      counters.bytes += count;
    },
    token(payloadBytes, answer) {
      counters.payloadBytes += payloadBytes;
      if (!answer) return;
      const at = now();
      if (lastTokenAt !== undefined) {
        gaps.push(at - lastTokenAt);
        if (gaps.length > MAX_TOKEN_GAPS) gaps.shift();
      } else {
        firstTokenAt = at;
        waitBeforeFirstToken = approvalWaitMs;
      }
      lastTokenAt = at;
      counters.tokens++;
    },
    toolCall(waitsForDecision) {
      const at = now();
      toolCallAt ??= at;
      if (waitsForDecision && waitingSince === undefined) waitingSince = at;
    },
    decided(callId) {
      const at = now();
      stopWaiting(at);
      decidedAt.set(callId, at);
    },
    undecided() {
      stopWaiting(now());
    },
    toolResult(callId) {
      const at = now();
      stopWaiting(at);
      const sent = decidedAt.get(callId);
      if (sent !== undefined) approvalRoundTripMs = at - sent;
    },
    lost() {
      lostAt ??= now();
    },
    reconnect() {
      counters.reconnects++;
    },
    end() {
      endedAt ??= now();
      if (waitingSince !== undefined) stopWaiting(endedAt);
    },
    get reconnects() {
      return counters.reconnects;
    },
    snapshot(transport) {
      const span = firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0;
      const waiting = waitingSince === undefined ? 0 : (endedAt ?? now()) - waitingSince;
      return {
        transport,
        firstTokenMs: firstTokenAt === undefined ? undefined : firstTokenAt - startedAt - waitBeforeFirstToken,
        toolCallMs: toolCallAt === undefined ? undefined : toolCallAt - startedAt,
        approvalWaitMs: approvalWaitMs + waiting,
        approvalRoundTripMs,
        ...counters,
        tokensPerSecond: span > 0 ? ((counters.tokens - 1) * 1000) / span : undefined,
        tokenGapsMs: [...gaps],
        resumeMs,
        elapsedMs: (endedAt ?? now()) - startedAt,
      };
    },
  };
}
