import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TokenwireError } from '../../shared/errors.js';
import { createClientOutputGate } from '../../server/engine/client-outputs.js';
import { canonicalSha256 } from '../../server/engine/approval-record.js';
import { defineClientTool, isClientTool } from '../../server/tools/client-tool.js';
import { defineTool } from '../../server/tools/registry.js';

const codeOf = (act: () => unknown): string | undefined => {
  try {
    act();
  } catch (error) {
    return error instanceof TokenwireError ? error.code : 'not typed';
  }
  return undefined;
};

describe('defineClientTool', () => {
  it('makes a registry entry the client runs, without approval unless asked, and checks it as defineTool does', async () => {
    const tool = defineClientTool({ name: 'get_local_time', description: 'time', parameters: z.strictObject({}) });
    expect(tool).toMatchObject({ name: 'get_local_time', runsOn: 'client', needsApproval: false, timeoutMs: undefined });
    expect(isClientTool(tool)).toBe(true);
    expect(isClientTool(defineTool({ name: 'x', description: 'x', parameters: z.strictObject({}), run: async () => 1 }))).toBe(false);
    expect(defineClientTool({ name: 'a', description: 'a', parameters: z.strictObject({}), needsApproval: true, timeoutMs: 5 })).toMatchObject({ needsApproval: true, timeoutMs: 5 });
    // Should anything try to run it on the server, it refuses, typed.
    await expect(tool.run({}, { signal: new AbortController().signal, subject: undefined, streamId: 'st_x', callId: 'call_x' })).rejects.toMatchObject({ code: 'internal' });
  });

  it('refuses a bad name, parameters that are no object schema, a timeout out of range, and an unknown key (named)', () => {
    const base = { name: 'ok', description: 'd', parameters: z.strictObject({}) };
    expect(() => defineClientTool({ ...base, name: 'has space' })).toThrow(/name/);
    expect(() => defineClientTool({ ...base, parameters: z.string() })).toThrow(/object/);
    expect(() => defineClientTool({ ...base, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => defineClientTool({ ...base, timeoutMs: 1.5 })).toThrow(/timeoutMs/);
    expect(() => defineClientTool({ ...base, run: async () => 1 } as never)).toThrow(/run/);
    expect(() => defineClientTool({ ...base, outputSchema: {} as never })).toThrow(/outputSchema/);
  });
});

describe('client output gate', () => {
  const mine = { authorize: () => true };
  const wait = (gate: ReturnType<typeof createClientOutputGate>, expiresAt: number, signal = new AbortController().signal) =>
    gate.wait({ callId: 'call_1', streamId: 's1', expiresAt, signal });

  it('takes one output, then refuses a replay as already_decided', async () => {
    const gate = createClientOutputGate();
    const waiting = wait(gate, Date.now() + 60_000);
    expect(gate.pending).toBe(1);
    expect(gate.deliver('call_1', { ok: true, output: 42 }, { ...mine, by: { transport: 'ws' } })).toEqual({ streamId: 's1' });
    expect(await waiting).toEqual({ outcome: 'answered', answer: { ok: true, output: 42 }, sha256: canonicalSha256(42), by: { transport: 'ws' } });
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 43 }, mine))).toBe('already_decided');
    expect(gate.pending).toBe(0);
  });

  it("refuses an output its check fails as invalid_request, the call still waiting, and settles with the checked value", async () => {
    const gate = createClientOutputGate();
    const check = (output: unknown) => (typeof output === 'number' ? { ok: true as const, value: output * 2 } : { ok: false as const, message: 'not a number' });
    const waiting = gate.wait({ callId: 'call_1', streamId: 's1', expiresAt: Date.now() + 60_000, signal: new AbortController().signal, check });
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 'x' }, mine))).toBe('invalid_request');
    expect(gate.pending).toBe(1);
    gate.deliver('call_1', { ok: true, output: 21 }, mine);
    expect(await waiting).toMatchObject({ outcome: 'answered', answer: { ok: true, output: 42 } });
  });

  it('refuses a stranger as forbidden before saying anything of the call, and an unknown call as unknown_call', () => {
    const gate = createClientOutputGate();
    void wait(gate, Date.now() + 60_000);
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 1 }, { authorize: () => false }))).toBe('forbidden');
    expect(codeOf(() => gate.deliver('call_2', { ok: true, output: 1 }, mine))).toBe('unknown_call');
    expect(gate.pending).toBe(1);
  });

  it('expires at expiresAt: the wait ends expired and a late output is tool_timeout', async () => {
    let now = 1_000;
    const gate = createClientOutputGate({ now: () => now });
    const waiting = wait(gate, 1_010);
    now = 1_010;
    // The timer may not have fired yet: the deadline shown is what counts.
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 1 }, mine))).toBe('tool_timeout');
    expect(await waiting).toEqual({ outcome: 'expired' });
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 1 }, mine))).toBe('tool_timeout');
  });

  it('rejects the wait when its stream aborts, and then calls the call gone (unknown_call)', async () => {
    const settled: string[] = [];
    const gate = createClientOutputGate({ onSettled: (callId, outcome) => settled.push(`${callId} ${outcome}`) });
    const abort = new AbortController();
    const waiting = wait(gate, Date.now() + 60_000, abort.signal);
    abort.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(codeOf(() => gate.deliver('call_1', { ok: true, output: 1 }, mine))).toBe('unknown_call');
    expect(settled).toEqual(['call_1 cancelled']);
  });
});
