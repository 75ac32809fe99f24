import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { type ToolRun, startRecordingServer } from '../helpers/recording-tools.js';
import type { TestServer } from '../helpers/server.js';
import { postSse, type SseSession } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';

let server: TestServer | undefined;
let runs: ToolRun[] = [];
const sessions: SseSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.disconnect();
  await server?.close();
  server = undefined;
});

async function start(env: Record<string, string> = {}) {
  ({ server, runs } = await startRecordingServer(env));
  return server;
}

/** Starts the weather chat over SSE; resolves with the session, its start frame and its tool call. */
async function weatherChat() {
  const session = await postSse(`${(server as TestServer).url}/api/chat`, {
    messages: [{ role: 'user', content: "What's the weather in Paris?" }],
    tools: ['get_weather'],
  });
  sessions.push(session);
  const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
  const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
  return { session, token: start.approvalToken as string, call };
}

function decide(callId: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${(server as TestServer).url}/api/approvals/${encodeURIComponent(callId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('tool approval over SSE + POST /api/approvals/:callId', () => {
  it('approves with the token from the start frame: 200, then tool_result, tokens and done on the SSE stream', async () => {
    await start();
    const { session, token, call } = await weatherChat();
    expect(token).toMatch(/^apr_/);
    expect(runs).toEqual([]);
    const response = await decide(call.callId, { decision: 'approve', token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ callId: call.callId, decision: 'approve', streamId: call.streamId });
    const frames = await session.ended;
    expect(frames.map((f) => f.type).slice(0, 3)).toEqual(['start', 'tool_call', 'tool_result']);
    expect(frames.find((f) => f.type === 'tool_result')).toMatchObject({ ok: true, result: { city: 'Paris' } });
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
  });

  it('accepts the token as Authorization: Bearer', async () => {
    await start();
    const { session, token, call } = await weatherChat();
    const response = await decide(call.callId, { decision: 'approve' }, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    await session.ended;
    expect(runs).toHaveLength(1);
  });

  it('denies with a reason: the tool never runs and the stream ends with done', async () => {
    await start();
    const { session, token, call } = await weatherChat();
    const response = await decide(call.callId, { decision: 'deny', token, reason: 'no' });
    expect(response.status).toBe(200);
    const frames = await session.ended;
    expect(frames.find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'denied', message: 'The user denied this call: no.' } });
    expect(frames.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    expect(runs).toEqual([]);
  });

  it('refuses a missing or wrong token, or the token of another stream, with 403 forbidden and changes nothing', async () => {
    await start();
    const { token: otherToken } = await weatherChat();
    const { session, token, call } = await weatherChat();
    for (const body of [{ decision: 'approve' }, { decision: 'approve', token: `${token}x` }, { decision: 'approve', token: otherToken }]) {
      const response = await decide(call.callId, body);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: { code: 'forbidden', message: 'This connection may not decide that tool call.' } });
    }
    expect(await (await decide(call.callId, { decision: 'approve' }, { authorization: 'Bearer nope' })).json()).toMatchObject({ error: { code: 'forbidden' } });
    expect(runs).toEqual([]);
    expect(session.frames.some((f) => f.type === 'tool_result')).toBe(false);
    expect((await decide(call.callId, { decision: 'approve', token })).status).toBe(200);
  });

  it('answers a replayed decision with 409 already_decided, and the tool runs once', async () => {
    await start();
    const { session, token, call } = await weatherChat();
    expect((await decide(call.callId, { decision: 'approve', token })).status).toBe(200);
    const replay = await decide(call.callId, { decision: 'approve', token });
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: { code: 'already_decided' } });
    const flip = await decide(call.callId, { decision: 'deny', token });
    expect(flip.status).toBe(409);
    await session.ended;
    expect(runs).toHaveLength(1);
  });

  it('answers a decision after expiry with 410 approval_expired; the stream says approval_expired and goes on', async () => {
    await start({ APPROVAL_TIMEOUT_MS: '150' });
    const { session, token, call } = await weatherChat();
    await session.waitForFrame((f) => f.type === 'tool_result');
    const late = await decide(call.callId, { decision: 'approve', token });
    expect(late.status).toBe(410);
    expect(await late.json()).toMatchObject({ error: { code: 'approval_expired' } });
    const frames = await session.ended;
    expect(frames.find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'approval_expired' } });
    expect(runs).toEqual([]);
  });

  it('answers an unknown call with 404 unknown_call', async () => {
    await start();
    const response = await decide('call_nope', { decision: 'approve', token: 'apr_x' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'unknown_call' } });
  });

  it('answers a body that is not a decision or not JSON with 400 invalid_request, one not application/json with 415', async () => {
    await start();
    const { token, call } = await weatherChat();
    const bad = [
      decide(call.callId, { decision: 'maybe', token }),
      decide(call.callId, { decision: 'approve', token, extra: 1 }),
      decide(call.callId, '{"decision":'),
    ];
    for (const response of await Promise.all(bad)) {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_request' } });
    }
    const plain = await fetch(`${server?.url}/api/approvals/${call.callId}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'approve' });
    expect([plain.status, await plain.json()]).toEqual([415, { error: { code: 'unsupported_media_type', message: 'Send the body as application/json.' } }]);
    expect(runs).toEqual([]);
  });

  it('decides a WebSocket stream’s call too, with that stream’s token', async () => {
    await start();
    const c = await connectWs((server as TestServer).url);
    c.send({ type: 'start', id: 'c1', messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'] });
    const startFrame = (await c.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    const call = (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    expect((await decide(call.callId, { decision: 'approve', token: startFrame.approvalToken })).status).toBe(200);
    await c.waitForFrame((f) => f.type === 'done');
    c.ws.terminate();
    expect(runs).toHaveLength(1);
  });
});
