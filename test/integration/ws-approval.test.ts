import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame, ServerFrameOf } from '../../shared/protocol.js';
import { type ToolRun, startRecordingServer } from '../helpers/recording-tools.js';
import type { TestServer } from '../helpers/server.js';
import { connectWs, framesOf, textOf, type WsTestClient } from '../helpers/ws-client.js';

let server: TestServer | undefined;
let runs: ToolRun[] = [];
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
});

async function start(env: Record<string, string> = {}) {
  ({ server, runs } = await startRecordingServer(env));
  return server;
}
const open = async () => {
  const client = await connectWs((server as TestServer).url);
  clients.push(client);
  return client;
};
const ask = (c: WsTestClient, content = "What's the weather in Paris?", tools = ['get_weather'], id = 'c1') =>
  c.send({ type: 'start', id, messages: [{ role: 'user', content }], tools });
const toolCall = async (c: WsTestClient) => (await c.waitForFrame((f) => f.type === 'tool_call')) as ServerFrameOf<'tool_call'>;
const of = <T extends ServerFrame['type']>(type: T) => (f: ServerFrame): f is ServerFrameOf<T> => f.type === type;

describe('tool approval over WebSocket (real sockets, simulated model)', () => {
  it('shows get_weather for approval and runs nothing before the decision; approve → tool_result → more tokens → done', async () => {
    await start();
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
    expect(call.expiresAt).toBeGreaterThan(Date.now());
    expect(runs).toEqual([]);
    expect(server?.core.approvals.pending).toBe(1);

    c.send({ type: 'approve', callId: call.callId });
    const done = await c.waitForFrame(of('done'));
    const frames = framesOf(c.frames, call.streamId);
    const types = frames.map((f) => f.type);
    expect(types.slice(0, 3)).toEqual(['start', 'tool_call', 'tool_result']);
    expect(types.slice(3, -1).every((t) => t === 'token')).toBe(true);
    expect(types.slice(3, -1).length).toBeGreaterThan(5);
    const result = frames[2] as ServerFrameOf<'tool_result'>;
    expect(result).toMatchObject({ callId: call.callId, ok: true, result: { city: 'Paris' } });
    const w = result.result as { conditions: string; temperatureC: number; humidity: number; windKph: number };
    expect(textOf(frames)).toBe(`The weather in Paris is ${w.conditions} at ${w.temperatureC}°C, with ${w.humidity}% humidity and wind at ${w.windKph} km/h.`);
    expect(done).toMatchObject({ reason: 'stop' });
    expect(runs).toEqual([{ name: 'get_weather', args: call.args }]);
  });

  it('on deny never runs the tool; the model answers without it and the stream ends with done', async () => {
    await start();
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    c.send({ type: 'deny', callId: call.callId, reason: 'not today' });
    const result = (await c.waitForFrame(of('tool_result'))) as ServerFrameOf<'tool_result'>;
    expect(result).toMatchObject({ ok: false, error: { code: 'denied', message: 'The user denied this call: not today.' } });
    await c.waitForFrame(of('done'));
    expect(textOf(framesOf(c.frames, call.streamId))).toBe('You declined the get_weather call, so I could not look up Paris.');
    expect(runs).toEqual([]);
  });

  it('answers the same approval sent twice with already_decided and runs the tool once', async () => {
    await start();
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    c.send({ type: 'approve', callId: call.callId });
    c.send({ type: 'approve', callId: call.callId });
    const error = await c.waitForFrame(of('error'));
    expect(error).toMatchObject({ code: 'already_decided', streamId: call.streamId, retryable: false });
    await c.waitForFrame(of('done'));
    expect(framesOf(c.frames, call.streamId).filter((f) => f.type === 'tool_result')).toHaveLength(1);
    expect(runs).toHaveLength(1);
  });

  it('expires an undecided call: tool_result approval_expired, a late approval refused, the tool never run', async () => {
    await start({ APPROVAL_TIMEOUT_MS: '150' });
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    expect((call.expiresAt as number) - Date.now()).toBeLessThanOrEqual(150);
    const result = await c.waitForFrame(of('tool_result'));
    expect(result).toMatchObject({ ok: false, error: { code: 'approval_expired' } });
    c.send({ type: 'approve', callId: call.callId });
    const error = await c.waitForFrame(of('error'));
    expect(error).toMatchObject({ code: 'approval_expired', streamId: call.streamId });
    await c.waitForFrame(of('done'));
    expect(runs).toEqual([]);
  });

  it('answers an approval that comes after the stream ended with the seq a resume picks up from, its done', async () => {
    await start({ APPROVAL_TIMEOUT_MS: '150' });
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    const done = await c.waitForFrame(of('done'));
    c.send({ type: 'approve', callId: call.callId });
    const error = await c.waitForFrame(of('error'));
    expect(error).toMatchObject({ code: 'approval_expired', streamId: call.streamId, seq: done.seq });
  });

  it('refuses a decision from another socket (forbidden, no stream named) and keeps the call for its owner', async () => {
    await start();
    const owner = await open();
    const stranger = await open();
    ask(owner);
    const call = await toolCall(owner);
    stranger.send({ type: 'approve', callId: call.callId });
    const error = await stranger.waitForFrame(of('error'));
    expect(error).toMatchObject({ code: 'forbidden', streamId: '-' });
    expect(runs).toEqual([]);
    expect(owner.frames.some((f) => f.type === 'tool_result')).toBe(false);
    owner.send({ type: 'approve', callId: call.callId });
    await owner.waitForFrame(of('done'));
    expect(runs).toHaveLength(1);
  });

  it('runs calculate (marked safe) without asking', async () => {
    await start();
    const c = await open();
    ask(c, 'Please calculate 2 * (3 + 4)', ['calculate']);
    await c.waitForFrame(of('done'));
    const frames = c.frames;
    expect(frames.find((f) => f.type === 'tool_call')).toMatchObject({ name: 'calculate', approval: 'not_required', args: { expression: '2 * (3 + 4)' } });
    expect(frames.find((f) => f.type === 'tool_result')).toMatchObject({ ok: true, result: { value: 14 } });
    expect(textOf(frames)).toBe('2 * (3 + 4) = 14.');
    expect(server?.core.approvals.pending).toBe(0);
  });

  it('keeps two pending calls on one socket apart: each decision reaches its own stream', async () => {
    await start();
    const c = await open();
    ask(c, "What's the weather in Paris?", ['get_weather'], 'paris');
    ask(c, "What's the weather in Oslo?", ['get_weather'], 'oslo');
    const calls = (await c.waitForCount(of('tool_call'), 2)) as ServerFrameOf<'tool_call'>[];
    const byCity = Object.fromEntries(calls.map((call) => [call.args.city as string, call]));
    c.send({ type: 'deny', callId: byCity.Paris?.callId });
    c.send({ type: 'approve', callId: byCity.Oslo?.callId });
    await c.waitForCount(of('done'), 2);
    expect(framesOf(c.frames, byCity.Paris?.streamId as string).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false });
    expect(framesOf(c.frames, byCity.Oslo?.streamId as string).find((f) => f.type === 'tool_result')).toMatchObject({ ok: true, result: { city: 'Oslo' } });
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Oslo' } }]);
  });

  it('cancel while a call waits for approval ends the stream (done cancelled) and the call can no longer be approved', async () => {
    await start();
    const c = await open();
    ask(c);
    const call = await toolCall(c);
    c.send({ type: 'cancel', streamId: call.streamId });
    const done = await c.waitForFrame(of('done'));
    expect(done).toMatchObject({ reason: 'cancelled' });
    c.send({ type: 'approve', callId: call.callId });
    const error = await c.waitForFrame(of('error'));
    expect(error).toMatchObject({ code: 'unknown_call' });
    expect(runs).toEqual([]);
  });
});
