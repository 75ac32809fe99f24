import type { FakeUpstream } from './fake-upstream.js';
import { openSseFrames, openWsFrames, postJson, type ProbeFrame, type SseStream, type WsFrames } from './frame-clients.js';
import { createHistogram } from './histogram.js';
import type { ProbeResult, Wire } from './types.js';

const WEATHER = "What's the weather in Paris?";
const SAMPLE_TIMEOUT_MS = 5_000;

/** Runs `sample` `count` times one after another; failures are counted, never thrown. */
async function collect(
  kind: ProbeResult['kind'],
  wire: Wire,
  variant: string,
  count: number,
  note: string,
  sample: (i: number) => Promise<{ ms: number; postMs?: number }>,
): Promise<ProbeResult> {
  const ms = createHistogram();
  const post = createHistogram();
  const errors = new Set<string>();
  let failures = 0;
  for (let i = 0; i < count; i++) {
    try {
      const result = await sample(i);
      ms.record(result.ms * 1e3);
      if (result.postMs !== undefined) post.record(result.postMs * 1e3);
    } catch (error) {
      failures++;
      errors.add(error instanceof Error ? error.message : String(error));
      // A missing route or transport fails every sample the same way: stop early.
      if (failures >= 3 && ms.count === 0) break;
    }
  }
  return { kind, wire, variant, samples: ms.count, failures, ms: ms.summary(), postMs: post.count ? post.summary() : null, note, errors: [...errors].slice(0, 5) };
}

function withTimeout<T>(run: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => {};
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${SAMPLE_TIMEOUT_MS} ms`));
    }, SAMPLE_TIMEOUT_MS);
    cleanup = run(
      (value) => {
        clearTimeout(timer);
        cleanup();
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        cleanup();
        reject(error);
      },
    );
  });
}

/**
 * The approval round trip over SSE: the `tool_call` frame arrives on the stream, the client
 * POSTs /api/approvals/:callId with the stream's approvalToken (keep-alive connection), and
 * the figure is the time from the `tool_call` frame to the `tool_result` frame.
 */
function sseApproval(port: number): Promise<{ ms: number; postMs: number }> {
  return withTimeout((resolve, reject) => {
    let token: string | undefined;
    let shownAt = -1;
    let resultAt = -1;
    let postMs = -1;
    const settle = () => resultAt >= 0 && postMs >= 0 && resolve({ ms: resultAt - shownAt, postMs });
    const stream = openSseFrames(
      port,
      { messages: [{ role: 'user', content: WEATHER }], tools: ['get_weather'] },
      (frame: ProbeFrame, now) => {
        if (frame.type === 'start') token = frame.approvalToken;
        else if (frame.type === 'tool_call' && frame.approval === 'required' && frame.callId) {
          shownAt = now;
          const posted = performance.now();
          postJson(port, `/api/approvals/${encodeURIComponent(frame.callId)}`, { decision: 'approve', token }).then(
            ({ status, body }) => {
              if (status < 200 || status > 299) {
                const code = (body as { error?: { code?: string } } | null)?.error?.code ?? '';
                reject(new Error(code === 'not_found' ? 'POST /api/approvals/:callId is not routed (404 not_found)' : `approval POST answered ${status} ${code}`));
                return;
              }
              postMs = performance.now() - posted;
              settle();
            },
            (error: Error) => reject(error),
          );
        } else if (frame.type === 'tool_result' && shownAt >= 0) {
          resultAt = now;
          settle();
        }
      },
      (error) => {
        if (resultAt < 0) reject(new Error(error ?? 'stream ended before tool_result'));
      },
    );
    return () => stream.close();
  }, 'sse approval');
}

/** The approval round trip over one WebSocket: `tool_call` in, `approve` out, `tool_result` in. */
function wsApproval(ws: WsFrames, i: number): Promise<{ ms: number }> {
  return withTimeout((resolve, reject) => {
    const id = `a${i}`;
    let streamId: string | undefined;
    let shownAt = -1;
    ws.onFrame((frame, now) => {
      if (frame.type === 'start' && frame.id === id) streamId = frame.streamId;
      else if (frame.streamId !== streamId || streamId === undefined) return;
      else if (frame.type === 'tool_call' && frame.approval === 'required' && frame.callId) {
        shownAt = now;
        ws.send({ type: 'approve', callId: frame.callId });
      } else if (frame.type === 'tool_result' && shownAt >= 0) {
        ws.send({ type: 'cancel', streamId });
        resolve({ ms: now - shownAt });
      } else if (frame.type === 'error') reject(new Error(`error frame ${String(frame.code)}`));
    });
    ws.send({ type: 'start', id, messages: [{ role: 'user', content: WEATHER }], tools: ['get_weather'] });
    return () => ws.onFrame(() => {});
  }, 'ws approval');
}

export async function probeApprovals(port: number, wires: ('sse' | 'ws')[], count: number): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  if (wires.includes('sse')) {
    results.push(await collect('approval', 'sse', 'tool_call → POST /api/approvals/:callId → tool_result', count, 'POST on a keep-alive connection; the first sample opens it', () => sseApproval(port)));
  }
  if (wires.includes('ws')) {
    let ws: WsFrames | undefined;
    try {
      ws = await openWsFrames(port);
      const open = ws;
      results.push(await collect('approval', 'ws', 'tool_call → approve frame → tool_result', count, 'one socket reused for every sample', (i) => wsApproval(open, i)));
    } catch (error) {
      results.push({ kind: 'approval', wire: 'ws', variant: 'tool_call → approve frame → tool_result', samples: 0, failures: count, ms: createHistogram().summary(), postMs: null, note: 'ws not available', errors: [error instanceof Error ? error.message : String(error)] });
    } finally {
      ws?.close();
    }
  }
  return results;
}

/** Opens a stream, waits for three tokens, then runs `leave`; resolves with leave → upstream socket closed. */
function disconnectSample(upstream: FakeUpstream, open: (onToken: () => void, fail: (e: Error) => void) => () => void): Promise<{ ms: number }> {
  return withTimeout((resolve, reject) => {
    const closed = upstream.nextClose();
    let tokens = 0;
    let leftAt = -1;
    let leave: () => void = () => {};
    leave = open(
      () => {
        if (++tokens !== 3) return;
        leftAt = performance.now();
        leave();
        closed.then((at) => resolve({ ms: at - leftAt }), reject);
      },
      // Errors after leaving are the leaving itself (an aborted response).
      (error) => leftAt < 0 && reject(error),
    );
    // On a timeout, leave anyway so nothing stays open.
    return () => leftAt < 0 && leave();
  }, 'disconnect');
}

/**
 * Disconnect to upstream abort, measured end to end: tokenwire runs with the openai provider
 * against a loopback upstream in this process; the client leaves after three tokens, and the
 * figure is the time until the upstream sees its socket close.
 */
export async function probeDisconnects(port: number, upstream: FakeUpstream, wires: ('sse' | 'ws')[], count: number): Promise<ProbeResult[]> {
  const body = { messages: [{ role: 'user', content: 'Tell me a long story.' }] };
  const results: ProbeResult[] = [];
  if (wires.includes('sse')) {
    results.push(
      await collect('disconnect', 'sse', 'client closes the connection', count, 'openai provider → loopback upstream', () =>
        disconnectSample(upstream, (onToken, fail) => {
          const stream = openSseFrames(port, body, (frame) => frame.type === 'token' && onToken(), (error) => error && error !== 'closed' && fail(new Error(error)));
          return () => stream.close();
        }),
      ),
    );
  }
  if (wires.includes('ws')) {
    results.push(
      await collect('disconnect', 'ws', 'client drops the socket', count, 'openai provider → loopback upstream; a new socket per sample', () =>
        new Promise((resolve, reject) => {
          openWsFrames(port).then((ws) => {
            disconnectSample(upstream, (onToken) => {
              ws.onFrame((frame) => frame.type === 'token' && onToken());
              ws.send({ type: 'start', id: 'd', ...body });
              return () => ws.close();
            }).then(resolve, reject);
          }, reject);
        }),
      ),
    );
    let ws: WsFrames | undefined;
    try {
      ws = await openWsFrames(port);
      const open = ws;
      results.push(
        await collect('disconnect', 'ws', 'client sends cancel', count, 'openai provider → loopback upstream; one socket', (i) =>
          disconnectSample(upstream, (onToken) => {
            let streamId: string | undefined;
            open.onFrame((frame) => {
              if (frame.type === 'start' && frame.id === `k${i}`) streamId = frame.streamId;
              else if (frame.type === 'token' && frame.streamId === streamId) onToken();
            });
            open.send({ type: 'start', id: `k${i}`, ...body });
            return () => open.send({ type: 'cancel', streamId });
          }),
        ),
      );
    } catch (error) {
      results.push({ kind: 'disconnect', wire: 'ws', variant: 'client sends cancel', samples: 0, failures: count, ms: createHistogram().summary(), postMs: null, note: 'ws not available', errors: [error instanceof Error ? error.message : String(error)] });
    } finally {
      ws?.close();
    }
  }
  return results;
}

/** A first frame of `streamId` after `lastSeq` from a new connection: resolves with reconnect start → that frame. */
function resumeSample(port: number, wire: 'sse' | 'ws', resume: { streamId: string; token: string; lastSeq: number }): Promise<{ ms: number }> {
  return withTimeout((resolve, reject) => {
    const began = performance.now();
    let leave: () => void = () => {};
    const onFrame = (frame: ProbeFrame, now: number) => {
      if (frame.streamId !== resume.streamId || (frame.seq ?? -1) <= resume.lastSeq) return;
      if (frame.type === 'error') reject(new Error(`error frame ${String(frame.code)}`));
      else resolve({ ms: now - began });
    };
    if (wire === 'sse') {
      const stream = openSseFrames(port, undefined, onFrame, (error) => error && error !== 'closed' && reject(new Error(error)), resume);
      leave = () => stream.close();
    } else {
      let ws: WsFrames | undefined;
      let left = false;
      openWsFrames(port).then((open) => {
        ws = open;
        if (left) return open.close();
        open.onFrame(onFrame);
        open.send({ type: 'resume', ...resume });
      }, reject);
      leave = () => {
        left = true;
        ws?.close();
      };
    }
    return () => leave();
  }, `${wire} resume`);
}

/**
 * Resume latency: a stream keeps generating with a resume window and no viewer;
 * each sample opens a new connection (a GET with Last-Event-ID, or a new WebSocket and its
 * `resume`) from a few frames back, and the figure is the time from the start of that
 * reconnect to the first replayed frame.
 */
export async function probeResumes(port: number, wires: ('sse' | 'ws')[], count: number): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  const body = { messages: [{ role: 'user', content: 'Tell me a long story.' }], options: { simulate: { tokens: 1_000_000 }, resumeGraceMs: 60_000 } };
  let resume: { streamId: string; token: string; lastSeq: number } | undefined;
  let token = '';
  const first = await new Promise<SseStream>((resolve, reject) => {
    const stream: SseStream = openSseFrames(
      port,
      body,
      (frame) => {
        if (frame.type === 'start') token = frame.approvalToken ?? '';
        if (frame.streamId && (frame.seq ?? 0) >= 10 && !resume) {
          resume = { streamId: frame.streamId, token, lastSeq: (frame.seq ?? 0) - 5 };
          resolve(stream);
        }
      },
      (error) => !resume && reject(new Error(error ?? 'the stream ended')),
    );
  });
  first.close();
  for (const wire of wires) {
    results.push(
      await collect('resume', wire, wire === 'sse' ? 'new GET with Last-Event-ID → first replayed frame' : 'new socket + resume frame → first replayed frame', count, 'a running stream with a resume window; 5 frames back', () => resumeSample(port, wire, resume!)),
    );
  }
  return results;
}
