import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApprovalGate, decideCall } from '../../server/engine/approvals.js';
import { runChat } from '../../server/engine/run-chat.js';
import { createLogger } from '../../server/observability/log.js';
import { createMetrics } from '../../server/observability/metrics.js';
import type { Hub } from '../../server/streams/hub.js';
import { createToolRegistry, defineTool, type StandardSchemaV1, type Tool } from '../../server/tools/registry.js';
import { checkArguments } from '../../server/tools/tool-schema.js';
import { isTokenwireError } from '../../shared/errors.js';
import { LIMITS, type ServerFrame, type ServerFrameOf } from '../../shared/protocol.js';
import { waitFor } from '../helpers/events.js';
import { createTestHub } from '../helpers/hub.js';
import { scriptedProvider } from '../helpers/scripted-provider.js';

// What a tool's own functions may do wrong: a predicate or display that throws, a display too
// large, an authorize that throws; and a Standard Schema of no known library.

let hub: Hub | undefined;
afterEach(() => hub?.close());

async function* callTurn() {
  yield { type: 'tool_call_delta' as const, index: 0, id: 'up_1', name: 'lookup', argumentsDelta: '{"thing":"tea"}' };
  yield { type: 'finish' as const, reason: 'tool_calls' as const };
}
async function* textTurn() {
  yield { type: 'finish' as const, reason: 'stop' as const };
}

/** Runs one chat whose model calls `lookup` once; resolves with the stream, its gate and its frames. */
function chat(tool: Tool) {
  hub = createTestHub();
  const approvals = createApprovalGate();
  const stream = hub.create({ model: 'm', transport: 'ws', subject: 'ada' });
  const seen: ServerFrame[] = [];
  stream.subscribe((record) => seen.push(record.frame));
  const provider = scriptedProvider([callTurn, textTurn]);
  const run = runChat(stream, { messages: [{ role: 'user', content: 'go' }] }, createToolRegistry([tool]).select(['lookup']), {
    provider,
    approvals,
    metrics: createMetrics(),
    log: createLogger({ LOG_LEVEL: 'silent' }),
    maxToolRounds: 3,
    approvalTimeoutMs: 60_000,
    toolTimeoutMs: 1_000,
  });
  const frame = <T extends ServerFrame['type']>(type: T) => waitFor(() => seen.find((f): f is ServerFrameOf<T> => f.type === type), `a ${type} frame`);
  return { stream, approvals, run, seen, frame };
}

const lookup = (over: Partial<Parameters<typeof defineTool>[0]> = {}, runs: unknown[] = []) =>
  defineTool({
    name: 'lookup',
    description: 'Looks a thing up.',
    parameters: z.strictObject({ thing: z.string() }),
    run: async (args) => {
      runs.push(args);
      return 'found';
    },
    ...over,
  } as Parameters<typeof defineTool>[0]);

describe("a tool's own functions", () => {
  it('fails a call whose needsApproval throws with approval_check_failed: never shown, never run', async () => {
    const runs: unknown[] = [];
    const { frame, seen, run } = chat(lookup({ needsApproval: async () => Promise.reject(new Error('db down')) }, runs));
    expect(await frame('tool_result')).toMatchObject({ ok: false, error: { code: 'approval_check_failed' } });
    await run;
    expect(seen.some((f) => f.type === 'tool_call')).toBe(false);
    expect(runs).toEqual([]);
  });

  it.each([
    ['throws', () => { throw new Error('no customer'); }],
    ['rejects', async () => Promise.reject(new Error('no customer'))],
    ['is too large', () => 'x'.repeat(LIMITS.displayChars)],
    ['is no JSON', () => undefined],
  ])('fails a call whose display %s with display_failed: never shown, never run', async (_name, display) => {
    const runs: unknown[] = [];
    const { frame, seen, run } = chat(lookup({ approval: { display } }, runs));
    expect(await frame('tool_result')).toMatchObject({ ok: false, error: { code: 'display_failed' } });
    await run;
    expect(seen.some((f) => f.type === 'tool_call')).toBe(false);
    expect(runs).toEqual([]);
  });

  it('refuses a decider as forbidden when authorize throws, and the call stays pending', async () => {
    const { frame, approvals, stream } = chat(lookup({ approval: { authorize: () => { throw new Error('directory down'); } } }));
    const call = await frame('tool_call');
    const attempt = decideCall(approvals, call.callId, 'approve', { owns: () => true, by: { subject: 'ada', transport: 'http' } });
    await expect(attempt).rejects.toMatchObject({ code: 'forbidden' });
    expect(approvals.pending).toBe(1);
    stream.abort('cancelled');
  });

  it('lets authorize refuse the stream’s own user (four eyes), told that they own it', async () => {
    const seen: unknown[] = [];
    const { frame, approvals, stream } = chat(lookup({ approval: { authorize: (decider: unknown, context: unknown) => (seen.push({ decider, context }), false) } }));
    const call = await frame('tool_call');
    await expect(decideCall(approvals, call.callId, 'approve', { owns: () => true, by: { subject: 'ada', transport: 'ws' } })).rejects.toMatchObject({ code: 'forbidden' });
    expect(seen).toEqual([{ decider: { subject: 'ada', transport: 'ws', owns: true }, context: { subject: 'ada', streamId: stream.id, callId: call.callId, args: { thing: 'tea' } } }]);
    stream.abort('cancelled');
  });
});

/** A Standard Schema written by hand: an async validator and no JSON Schema of its own. */
const handWritten: StandardSchemaV1<unknown, { thing: string }> = {
  '~standard': {
    version: 1,
    vendor: 'hand',
    validate: async (value) =>
      typeof value === 'object' && value !== null && typeof (value as { thing?: unknown }).thing === 'string'
        ? { value: { thing: (value as { thing: string }).thing } }
        : { issues: [{ message: 'a string is required', path: [{ key: 'thing' }] }] },
  },
};

describe('Standard Schema parameters', () => {
  it('asks for jsonSchema when the schema offers none, naming the vendor', () => {
    expect(() => defineTool({ name: 'lookup', description: '', parameters: handWritten, run: async () => null })).toThrow(/a hand schema offers no JSON Schema: pass jsonSchema/);
  });

  it('validates with the schema (async) and offers the jsonSchema given; issues keep their paths', async () => {
    const jsonSchema = { type: 'object', properties: { thing: { type: 'string' } }, required: ['thing'] };
    const tool = defineTool({ name: 'lookup', description: 'd', parameters: handWritten, jsonSchema, needsApproval: false, run: async ({ thing }) => thing.toUpperCase() });
    expect(createToolRegistry([tool]).select(['lookup']).specs[0]?.parameters).toEqual(jsonSchema);
    const { frame } = chat(tool);
    expect(await frame('tool_result')).toMatchObject({ ok: true, result: 'TEA' });
    expect(await checkArguments(handWritten, {})).toEqual({ ok: false, why: 'a string is required at thing' });
  });

  it('refuses a parameters value that is no schema at all', () => {
    let thrown: unknown;
    try {
      defineTool({ name: 'lookup', description: '', parameters: 'thing' as never, run: async () => null });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(isTokenwireError(thrown)).toBe(false);
  });
});
