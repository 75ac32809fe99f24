import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../server/engine/approval-record.js';
import type { ServerFrameOf } from '../../shared/protocol.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';
import { captureLog } from '../helpers/log-capture.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse } from '../helpers/sse-client.js';
import { connectWs } from '../helpers/ws-client.js';

// one structured record per approval decision, in the log and at
// GET /api/streams/:id/approvals for whoever may view the stream.

let server: TestServer;
afterEach(() => server?.close());

const weather = { messages: [{ role: 'user', content: "What's the weather in Paris?" }], tools: ['get_weather'] };
/** What the simulated model asks get_weather with, canonical (RFC 8785) and hashed. */
const parisSha = createHash('sha256').update('{"city":"Paris"}').digest('hex');
const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('approval audit trail', () => {
  it('records an HTTP approval of an anonymous stream: in the log and at /approvals for the token holder only', async () => {
    const logged = captureLog('info');
    server = await startServer({ INSTANCE_ID: 'test-1' }, { log: logged.log });
    const session = await postSse(`${server.url}/api/chat`, weather);
    const start = (await session.waitForFrame((f) => f.type === 'start')) as ServerFrameOf<'start'>;
    const call = (await session.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    const token = start.streamToken as string;
    const decided = await fetch(`${server.url}/api/approvals/${call.callId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stream-token': token },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(decided.status).toBe(200);
    await session.ended;

    const trail = await fetch(`${server.url}/api/streams/${start.streamId}/approvals`, { headers: { 'x-stream-token': token } });
    const body = (await trail.json()) as { streamId: string; approvals: ApprovalRecord[] };
    expect(body.streamId).toBe(start.streamId);
    expect(body.approvals).toEqual([
      {
        streamId: start.streamId,
        callId: call.callId,
        tool: 'get_weather',
        argsSha256: parisSha,
        decision: 'approved',
        transport: 'http',
        instance: 'test-1',
        requestedAt: expect.stringMatching(iso),
        decidedAt: expect.stringMatching(iso),
        outcome: 'ok',
      },
    ]);
    const [record] = body.approvals as [ApprovalRecord];
    expect(Date.parse(record.decidedAt)).toBeGreaterThanOrEqual(Date.parse(record.requestedAt));
    expect(logged.records.filter((r) => r.msg === 'approval decided').map((r) => r.audit)).toEqual([record]);
    expect((await fetch(`${server.url}/api/streams/${start.streamId}/approvals`)).status).toBe(403);
  });

  it('records a WebSocket denial with the subject, and an expiry with nobody', async () => {
    server = await startServer({ AUTH: 'jwt', JWT_SECRET: HS_SECRET, APPROVAL_TIMEOUT_MS: '150' });
    const jwt = await signJwt({ sub: 'alice' });
    const ws = await connectWs(server.url, { headers: { authorization: `Bearer ${jwt}` } });
    ws.send({ type: 'start', id: 'denied', ...weather });
    const call = (await ws.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
    ws.send({ type: 'deny', callId: call.callId, reason: 'no' });
    await ws.waitForFrame((f) => f.type === 'done' && f.streamId === call.streamId);
    ws.send({ type: 'start', id: 'expired', ...weather });
    const late = (await ws.waitForCount((f) => f.type === 'tool_call', 2))[1] as ServerFrameOf<'tool_call'>;
    await ws.waitForFrame((f) => f.type === 'done' && f.streamId === late.streamId);
    ws.close();

    const trail = async (streamId: string) =>
      ((await (await fetch(`${server.url}/api/streams/${streamId}/approvals`, { headers: { authorization: `Bearer ${jwt}` } })).json()) as { approvals: ApprovalRecord[] }).approvals;
    expect(await trail(call.streamId)).toEqual([
      expect.objectContaining({ callId: call.callId, decision: 'denied', subject: 'alice', transport: 'ws', outcome: 'not_run', argsSha256: parisSha }),
    ]);
    const [expiry] = await trail(late.streamId);
    expect(expiry).toMatchObject({ callId: late.callId, decision: 'expired', outcome: 'not_run' });
    expect(expiry).not.toHaveProperty('subject');
    expect(expiry).not.toHaveProperty('transport');
    const bob = await signJwt({ sub: 'bob' });
    expect((await fetch(`${server.url}/api/streams/${call.streamId}/approvals`, { headers: { authorization: `Bearer ${bob}` } })).status).toBe(403);
  });
});
