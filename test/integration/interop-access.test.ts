import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';
import { HS_SECRET, signJwt } from '../helpers/jwt.js';
import type { ToolRun } from '../helpers/recording-tools.js';
import { interopEdges, startRecording } from '../helpers/interop-servers.js';
import type { EdgeServer as TestServer } from '../helpers/interop-servers.js';

// With authentication on, an AI SDK chat or an AG-UI thread belongs to the subject that
// started it, as tokenwire's own streams do: another subject who knows its ids finds nothing
// there to view, cancel, replace or decide.

const env = { AUTH: 'jwt', JWT_SECRET: HS_SECRET, SIM_TOKENS_PER_SECOND: '50', APPROVAL_TIMEOUT_MS: '60000' };
const bearer = async (sub: string) => ({ authorization: `Bearer ${await signJwt({ sub })}` });

let server: TestServer | undefined;
let runs: ToolRun[] = [];
const controllers: AbortController[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await server?.close();
  server = undefined;
});

const frames = (streamId: string): Promise<ServerFrame[]> => loggedFrames(server!.core.hub.get(streamId));

/** POSTs JSON and keeps the response open (its body unread) until the test ends or `abort`s it. */
async function open(path: string, body: unknown, headers: Record<string, string>) {
  const controller = new AbortController();
  controllers.push(controller);
  const response = await fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  return { response, streamId: response.headers.get('x-tokenwire-stream-id'), abort: () => controller.abort() };
}

const chatBody = (id: string, text: string, extra: object = {}) => ({
  id,
  messages: [{ id: 'u-1', role: 'user', parts: [{ type: 'text', text }] }],
  ...extra,
});
const long = { options: { resumeGraceMs: 60_000, simulate: { tokens: 5_000 } } };

describe.each(interopEdges)('AI SDK chats belong to their subject, over %s', (_edge, startEdge) => {
  it('another subject with the chat id gets nothing to resume (204), nothing to cancel (404), and a chat of their own when posting it', async () => {
    server = await startEdge(env);
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const first = await open('/api/ai-sdk/chat', chatBody('chat-shared', 'Tell me a story', long), alice);
    expect(first.response.status).toBe(200);
    const aliceStream = first.streamId!;
    first.abort(); // her tab reloads; the resume window keeps the generation going

    const peek = await fetch(`${server.url}/api/ai-sdk/chat/chat-shared/stream`, { headers: bob });
    expect(peek.status).toBe(204);
    expect(peek.headers.get('x-tokenwire-stream-id')).toBeNull();
    expect(await peek.text()).toBe('');

    const cancel = await fetch(`${server.url}/api/ai-sdk/chat/chat-shared/stream`, { method: 'DELETE', headers: bob });
    expect(cancel.status).toBe(404);
    expect((await cancel.json()).error.code).toBe('unknown_stream');
    expect(server.core.hub.get(aliceStream)!.done).toBe(false);

    const own = await open('/api/ai-sdk/chat', chatBody('chat-shared', 'Hi', { options: { simulate: { tokens: 2 } } }), bob);
    expect(own.response.status).toBe(200);
    expect(own.streamId).not.toBe(aliceStream);
    expect(server.core.hub.get(own.streamId!)!.subject).toBe('bob');
    expect(await own.response.text()).toContain('"finishReason":"stop"');

    // Her chat is as she left it: she resumes her own stream and cancels it.
    const again = await fetch(`${server.url}/api/ai-sdk/chat/chat-shared/stream`, { headers: { ...alice, 'last-event-id': '0' } });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-tokenwire-stream-id')).toBe(aliceStream);
    await again.body!.cancel();
    const stop = await fetch(`${server.url}/api/ai-sdk/chat/chat-shared/stream`, { method: 'DELETE', headers: alice });
    expect(await stop.json()).toEqual({ ok: true, cancelled: true });
    expect(await waitFor(async () => (await frames(aliceStream)).find((f) => f.type === 'done'), 'done')).toMatchObject({ reason: 'cancelled' });
  });

  it('another subject cannot decide her tool call with her chat id (403); she still can', async () => {
    ({ server, runs } = await startRecording(startEdge, { ...env, SIM_TOKENS_PER_SECOND: '1000' }));
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const ask = await open('/api/ai-sdk/chat', chatBody('chat-tool', "What's the weather in Paris?", { tools: ['get_weather'] }), alice);
    const body = await ask.response.text();
    expect(body).toContain('"type":"tool-approval-request"');
    const call = (await frames(ask.streamId!)).find((f) => f.type === 'tool_call') as Extract<ServerFrame, { type: 'tool_call' }>;
    const answered = chatBody('chat-tool', "What's the weather in Paris?");
    answered.messages.push({
      id: ask.streamId!,
      role: 'assistant',
      parts: [{ type: 'tool-get_weather', toolCallId: call.callId, state: 'approval-responded', input: call.args, approval: { id: call.callId, approved: true } } as never],
    });

    const stolen = await fetch(`${server.url}/api/ai-sdk/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...bob }, body: JSON.stringify(answered) });
    expect(stolen.status).toBe(403);
    expect((await stolen.json()).error.code).toBe('forbidden');
    expect(runs).toEqual([]);

    const hers = await open('/api/ai-sdk/chat', answered, alice);
    expect(hers.streamId).toBe(ask.streamId);
    expect(await hers.response.text()).toContain('"type":"tool-output-available"');
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
  });
});

describe.each(interopEdges)('AG-UI runs belong to their subject, over %s', (_edge, startEdge) => {
  const runInput = (threadId: string, runId: string, extra: object = {}, content = 'Tell me a story') => ({
    threadId,
    runId,
    messages: [{ id: 'u-1', role: 'user', content }],
    ...extra,
  });

  it('another subject re-posting her threadId and runId gets a run of their own, and a resume of hers is unknown_stream (404)', async () => {
    server = await startEdge(env);
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const first = await open('/api/ag-ui', runInput('thread-shared', 'run-1', { forwardedProps: long }), alice);
    expect(first.response.status).toBe(200);
    const aliceStream = first.streamId!;
    first.abort();
    await waitFor(async () => (await frames(aliceStream)).length > 3, 'a few frames');

    const resume = await fetch(`${server.url}/api/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'last-event-id': '1', ...bob },
      body: JSON.stringify(runInput('thread-shared', 'run-1')),
    });
    expect(resume.status).toBe(404);
    expect((await resume.json()).error.code).toBe('unknown_stream');

    const own = await open('/api/ag-ui', runInput('thread-shared', 'run-1', { forwardedProps: { options: { simulate: { tokens: 2 } } } }), bob);
    expect(own.response.status).toBe(200);
    expect(own.streamId).not.toBe(aliceStream);
    expect(server.core.hub.get(own.streamId!)!.subject).toBe('bob');
    expect(await own.response.text()).toContain('"type":"RUN_FINISHED"');

    // Her run is hers still: the same ids view her stream again.
    const again = await open('/api/ag-ui', runInput('thread-shared', 'run-1'), { ...alice, 'last-event-id': '1' });
    expect(again.response.status).toBe(200);
    expect(again.streamId).toBe(aliceStream);
    expect(server.core.hub.get(aliceStream)!.done).toBe(false);
  });

  it('another subject cannot answer her interrupt on her thread (403); she still can', async () => {
    ({ server, runs } = await startRecording(startEdge, { ...env, SIM_TOKENS_PER_SECOND: '1000' }));
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const ask = await open('/api/ag-ui', runInput('thread-tool', 'run-ask', { forwardedProps: { tools: ['get_weather'] } }, "What's the weather in Paris?"), alice);
    expect(await ask.response.text()).toContain('"type":"interrupt"');
    const call = (await frames(ask.streamId!)).find((f) => f.type === 'tool_call') as Extract<ServerFrame, { type: 'tool_call' }>;
    const answer = (runId: string) => runInput('thread-tool', runId, { resume: [{ interruptId: call.callId, status: 'resolved', payload: { approved: true } }] });

    const stolen = await fetch(`${server.url}/api/ag-ui`, { method: 'POST', headers: { 'content-type': 'application/json', ...bob }, body: JSON.stringify(answer('run-bob')) });
    expect(stolen.status).toBe(403);
    expect((await stolen.json()).error.code).toBe('forbidden');
    expect(runs).toEqual([]);

    const hers = await open('/api/ag-ui', answer('run-approve'), alice);
    expect(hers.streamId).toBe(ask.streamId);
    expect(await hers.response.text()).toContain('"type":"TOOL_CALL_RESULT"');
    expect(runs).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
  });
});
