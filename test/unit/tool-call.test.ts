import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApprovalGate, type ApprovalGate } from '../../server/engine/approvals.js';
import { runChat, type EngineDeps } from '../../server/engine/run-chat.js';
import { createLogger } from '../../server/observability/log.js';
import { createMetrics } from '../../server/observability/metrics.js';
import type { ModelEvent, ModelProvider, ModelRequest } from '../../server/models/provider.js';
import type { Hub, Stream } from '../../server/streams/hub.js';
import { createTestHub } from '../helpers/hub.js';
import { defineTool, ToolError, type Tool, createToolRegistry } from '../../server/tools/registry.js';
import { ServerFrame, type ChatRequest, type ServerFrameOf } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { scriptedProvider } from '../helpers/scripted-provider.js';

const log = createLogger({ LOG_LEVEL: 'silent' });
let hub: Hub | undefined;
afterEach(() => hub?.close());

const request: ChatRequest = { messages: [{ role: 'user', content: 'go' }] };

async function* events(...list: ModelEvent[]): AsyncIterable<ModelEvent> {
  yield* list;
}
/** A model turn that asks for one tool call, its arguments split in two deltas. */
const callTurn = (name: string, args: string, id: string | null = 'up_1') => () =>
  events(
    { type: 'tool_call_delta', index: 0, ...(id !== null ? { id } : {}), name, argumentsDelta: args.slice(0, 3) },
    { type: 'tool_call_delta', index: 0, argumentsDelta: args.slice(3) },
    { type: 'finish', reason: 'tool_calls' },
  );
const textTurn = (text = 'ok') => () => events({ type: 'text', text }, { type: 'finish', reason: 'stop' });

/** A tool that records its runs; `needsApproval` as given. */
function tool(options: { name?: string; needsApproval?: boolean; run?: Tool['run'] } = {}) {
  const runs: unknown[] = [];
  const t = defineTool({
    name: options.name ?? 'lookup',
    description: 'Looks a thing up.',
    parameters: z.strictObject({ thing: z.string().trim().min(1) }),
    ...(options.needsApproval !== undefined ? { needsApproval: options.needsApproval } : {}),
    run: async (args, context) => {
      runs.push(args);
      return options.run ? options.run(args, context) : { found: (args as { thing: string }).thing };
    },
  });
  return { tool: t, runs };
}

function setup(provider: ModelProvider & { requests: ModelRequest[] }, tools: Tool[], over: Partial<EngineDeps> = {}) {
  hub = createTestHub();
  const approvals: ApprovalGate = createApprovalGate();
  const deps: EngineDeps = {
    provider,
    approvals,
    metrics: createMetrics(),
    log,
    maxToolRounds: 3,
    approvalTimeoutMs: 60_000,
    toolTimeoutMs: 1_000,
    ...over,
  };
  const stream = hub.create({ model: 'm', transport: 'ws' });
  // The frames after `start`, as they are appended (the log's read is asynchronous).
  const seen: ServerFrame[] = [];
  recorded.set(stream, seen);
  stream.subscribe((record) => seen.push(record.frame));
  const selected = createToolRegistry(tools).select(tools.map((t) => t.name));
  const run = runChat(stream, request, selected, deps);
  return { stream, approvals: deps.approvals, run, provider };
}

const recorded = new Map<Stream, ServerFrame[]>();
const frames = (stream: Stream): ServerFrame[] => recorded.get(stream) ?? [];
const frameOf = <T extends ServerFrame['type']>(stream: Stream, type: T) =>
  waitFor(() => frames(stream).find((f): f is ServerFrameOf<T> => f.type === type), `a ${type} frame`);
const owner = { authorize: () => true };

describe('engine tool calls', () => {
  it('shows a call that needs approval with its validated args and expiry, and runs nothing until decided', async () => {
    const { tool: t, runs } = tool();
    const { stream, approvals, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"  tea "}'), textTurn()]), [t]);
    const call = await frameOf(stream, 'tool_call');
    expect(call).toMatchObject({ name: 'lookup', args: { thing: 'tea' }, approval: 'required' });
    expect(call.expiresAt).toBeGreaterThan(Date.now() + 59_000);
    expect(approvals.pending).toBe(1);
    expect(runs).toEqual([]);
    approvals.decide(call.callId, 'approve', owner);
    await run;
    expect(runs).toEqual([{ thing: 'tea' }]);
  });

  it('runs exactly the frozen args it showed, and gives the model the call and its result', async () => {
    let seen: unknown;
    const { tool: t } = tool({
      run: async (args) => {
        seen = args;
        expect(() => ((args as { thing: string }).thing = 'coffee')).toThrow(TypeError);
        return { found: 'tea' };
      },
    });
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"tea"}'), textTurn('done')]);
    const { stream, approvals, run } = setup(provider, [t]);
    const call = await frameOf(stream, 'tool_call');
    approvals.decide(call.callId, 'approve', owner);
    await run;
    expect(seen).toEqual(call.args);
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ callId: call.callId, ok: true, result: { found: 'tea' } });
    expect(provider.requests[1]?.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'up_1', name: 'lookup', arguments: '{"thing":"tea"}' }] },
      { role: 'tool', toolCallId: 'up_1', toolName: 'lookup', content: JSON.stringify({ ok: true, result: { found: 'tea' } }) },
    ]);
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('registers the call before its frame is out: a decision made on the frame itself is accepted', async () => {
    const { tool: t, runs } = tool();
    // A short window, so a refused decision shows up as an expiry rather than a test timeout.
    const { stream, approvals, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"tea"}'), textTurn()]), [t], { approvalTimeoutMs: 300 });
    const refused: unknown[] = [];
    stream.subscribe(({ frame }) => {
      if (frame.type !== 'tool_call') return;
      try {
        approvals.decide(frame.callId, 'approve', owner);
      } catch (error) {
        refused.push(error);
      }
    });
    await run;
    expect(refused).toEqual([]);
    expect(runs).toHaveLength(1);
  });

  it('on deny never runs the tool and tells the model the reason', async () => {
    const { tool: t, runs } = tool();
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"tea"}'), textTurn()]);
    const { stream, approvals, run } = setup(provider, [t]);
    const call = await frameOf(stream, 'tool_call');
    approvals.decide(call.callId, 'deny', { ...owner, reason: 'no tea' });
    await run;
    expect(runs).toEqual([]);
    const result = { ok: false, error: { code: 'denied', message: 'The user denied this call: no tea.' } };
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject(result);
    expect(provider.requests[1]?.messages.at(-1)).toEqual({ role: 'tool', toolCallId: 'up_1', toolName: 'lookup', content: JSON.stringify(result) });
  });

  it('when nobody decides in time, reports approval_expired and never runs the tool', async () => {
    const { tool: t, runs } = tool();
    const { stream, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"tea"}'), textTurn()]), [t], { approvalTimeoutMs: 30 });
    await run;
    expect(runs).toEqual([]);
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'approval_expired' } });
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('runs a tool marked safe without asking, and says so in its tool_call frame', async () => {
    const { tool: t, runs } = tool({ needsApproval: false });
    const { stream, approvals, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"tea"}'), textTurn()]), [t]);
    await run;
    expect(runs).toHaveLength(1);
    expect(approvals.pending).toBe(0);
    const call = frames(stream).find((f) => f.type === 'tool_call');
    expect(call).toMatchObject({ approval: 'not_required' });
    expect(call).not.toHaveProperty('expiresAt');
  });

  it('never shows arguments that fail the schema: invalid_arguments goes to the model, nothing to approve', async () => {
    const { tool: t, runs } = tool();
    const provider = scriptedProvider([callTurn('lookup', '{"thing":42,"rm":"-rf"}'), textTurn()]);
    const { stream, approvals, run } = setup(provider, [t]);
    await run;
    expect(frames(stream).some((f) => f.type === 'tool_call')).toBe(false);
    expect(approvals.pending).toBe(0);
    expect(runs).toEqual([]);
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
  });

  it.each([true, false])('never shows arguments with a lone surrogate (the audit could not hash them): invalid_arguments, nothing to approve or run (needsApproval %s)', async (needsApproval) => {
    const { tool: t, runs } = tool({ needsApproval });
    const audits: unknown[] = [];
    // "\ud800" in the JSON text is a lone surrogate once parsed: valid JSON, not Unicode text.
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"tea\\ud800"}'), textTurn()]);
    const { stream, approvals, run } = setup(provider, [t], { approvalTimeoutMs: 300, auditApproval: (record) => audits.push(record) });
    stream.subscribe(({ frame }) => frame.type === 'tool_call' && approvals.decide(frame.callId, 'approve', owner));
    await run;
    expect(frames(stream).some((f) => f.type === 'tool_call')).toBe(false);
    expect(runs).toEqual([]);
    expect(audits).toEqual([]);
    const refused = { ok: false, error: { code: 'invalid_arguments', message: 'The arguments for lookup are not valid: a string holds a lone surrogate, which is not Unicode text.' } };
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject(refused);
    expect(provider.requests[1]?.messages.at(-1)).toEqual({ role: 'tool', toolCallId: 'up_1', toolName: 'lookup', content: JSON.stringify(refused) });
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });

  it('names zero-width and bidi control characters in the shown arguments (hiddenCharacters), and none on a clean call', async () => {
    const { tool: t } = tool();
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"tea\u202e;moc.live\u200b"}'), callTurn('lookup', '{"thing":"tea"}', 'up_2'), textTurn()]);
    const { stream, approvals, run } = setup(provider, [t]);
    stream.subscribe(({ frame }) => frame.type === 'tool_call' && approvals.decide(frame.callId, 'approve', owner));
    await run;
    const [marked, clean] = frames(stream).filter((f): f is ServerFrameOf<'tool_call'> => f.type === 'tool_call');
    expect(marked).toMatchObject({ args: { thing: 'tea\u202e;moc.live\u200b' }, hiddenCharacters: [{ path: '/thing', codePoints: ['U+202E', 'U+200B'] }] });
    expect(clean).not.toHaveProperty('hiddenCharacters');
    // The frame still decodes with the protocol's schema.
    expect(ServerFrame.safeParse(marked).success).toBe(true);
  });

  it('reports arguments that are not JSON as invalid_arguments', async () => {
    const { tool: t } = tool();
    const { stream, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":'), textTurn()]), [t]);
    await run;
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'invalid_arguments', message: expect.stringContaining('not JSON') } });
  });

  it('reports a call to a tool the request did not offer as unknown_tool', async () => {
    const { tool: t, runs } = tool();
    const { stream, run } = setup(scriptedProvider([callTurn('format_disk', '{}'), textTurn()]), [t]);
    await run;
    expect(runs).toEqual([]);
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'unknown_tool' } });
  });

  it('gives a call without an upstream id one, so the tool message still names its call', async () => {
    const { tool: t } = tool({ needsApproval: false });
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"tea"}', null), textTurn()]);
    const { run } = setup(provider, [t]);
    await run;
    const [assistant, toolMessage] = provider.requests[1]?.messages.slice(1) ?? [];
    const id = assistant?.role === 'assistant' ? assistant.toolCalls?.[0]?.id : undefined;
    expect(id).toMatch(/^call_/);
    expect(toolMessage).toMatchObject({ role: 'tool', toolCallId: id });
  });

  it('reports a ToolError with its code and message, and any other failure without its message', async () => {
    const failing = tool({ name: 'a', needsApproval: false, run: async () => { throw new ToolError('no_such_thing', 'There is no such thing.'); } });
    const crashing = tool({ name: 'b', needsApproval: false, run: async () => { throw new Error('db password is hunter2'); } });
    const provider = scriptedProvider([callTurn('a', '{"thing":"x"}'), callTurn('b', '{"thing":"x"}', 'up_2'), textTurn()]);
    const { stream, run } = setup(provider, [failing.tool, crashing.tool]);
    await run;
    const results = frames(stream).filter((f) => f.type === 'tool_result');
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'no_such_thing', message: 'There is no such thing.' } });
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'tool_failed', message: 'The tool failed.' } });
    expect(JSON.stringify(frames(stream))).not.toContain('hunter2');
  });

  it('gives up on a tool that outlives its timeout with tool_timeout, and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const slow = tool({ needsApproval: false, run: (_args, context) => { signal = context.signal; return new Promise(() => {}); } });
    const { stream, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"x"}'), textTurn()]), [slow.tool], { toolTimeoutMs: 20 });
    await run;
    expect(frames(stream).find((f) => f.type === 'tool_result')).toMatchObject({ ok: false, error: { code: 'tool_timeout' } });
    expect(signal?.aborted).toBe(true);
  });

  it('ends with done cancelled when the stream is aborted while a call waits for approval', async () => {
    const { tool: t, runs } = tool();
    const { stream, approvals, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"tea"}')]), [t]);
    await frameOf(stream, 'tool_call');
    stream.abort('cancelled');
    await run;
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(approvals.pending).toBe(0);
    expect(runs).toEqual([]);
  });

  it('runs exactly MAX_TOOL_ROUNDS rounds of tools, then ends with done tool_rounds', async () => {
    const { tool: t, runs } = tool({ needsApproval: false });
    const provider = scriptedProvider([callTurn('lookup', '{"thing":"1"}'), callTurn('lookup', '{"thing":"2"}'), callTurn('lookup', '{"thing":"3"}')]);
    const { stream, run } = setup(provider, [t], { maxToolRounds: 2 });
    await run;
    expect(runs).toEqual([{ thing: '1' }, { thing: '2' }]);
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'tool_rounds' });
  });

  it('with MAX_TOOL_ROUNDS=1 still runs the one round it allows', async () => {
    const { tool: t, runs } = tool({ needsApproval: false });
    const { stream, run } = setup(scriptedProvider([callTurn('lookup', '{"thing":"1"}'), textTurn('answer')]), [t], { maxToolRounds: 1 });
    await run;
    expect(runs).toHaveLength(1);
    expect(frames(stream).at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });
});
