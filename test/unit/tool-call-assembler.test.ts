import { describe, expect, it } from 'vitest';
import { createToolCallAssembler } from '../../server/engine/tool-call-assembler.js';
import type { ModelEvent } from '../../server/models/provider.js';

type Delta = Omit<Extract<ModelEvent, { type: 'tool_call_delta' }>, 'type'>;

const assemble = (...deltas: Delta[]) => {
  const assembler = createToolCallAssembler();
  for (const delta of deltas) assembler.add(delta);
  return assembler.calls();
};

describe('createToolCallAssembler', () => {
  it('joins OpenAI-style pieces: id and name first, arguments in pieces, two calls interleaved by index', () => {
    expect(
      assemble(
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city":' },
        { index: 1, id: 'b', name: 'calculate', argumentsDelta: '{"expression":' },
        { index: 0, argumentsDelta: '"Oslo"}' },
        { index: 1, argumentsDelta: '"6*7"}' },
      ),
    ).toEqual([
      { id: 'a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'b', name: 'calculate', arguments: '{"expression":"6*7"}' },
    ]);
  });

  it('a new id at a used index is a new call (Ollama: parallel calls all at index 0)', () => {
    expect(
      assemble(
        { index: 0, id: 'call_a', name: 'get_weather', argumentsDelta: '{"city":"Paris"}' },
        { index: 0, id: 'call_b', name: 'get_weather', argumentsDelta: '{"city":"Rome"}' },
      ),
    ).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
  });

  it('an id repeated on every piece continues its call, and a repeated name is not appended', () => {
    expect(
      assemble(
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"ci' },
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: 'ty":"Oslo"}' },
      ),
    ).toEqual([{ id: 'a', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
  });

  it('without an index: calls with ids are separate, pieces without either continue the latest (Gemini)', () => {
    expect(
      assemble(
        { id: 'g1', name: 'get_weather', argumentsDelta: '{"city":"Paris"}' },
        { id: 'g2', name: 'get_weather', argumentsDelta: '{"city":' },
        { argumentsDelta: '"Rome"}' },
      ),
    ).toEqual([
      { id: 'g1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'g2', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
  });

  it('without index or id, a named piece after a whole call starts another; ids are made up for both', () => {
    const calls = assemble(
      { name: 'get_weather', argumentsDelta: '{"city":"Paris"}' },
      { name: 'get_weather', argumentsDelta: '{"city":"Rome"}' },
    );
    expect(calls.map((c) => c.arguments)).toEqual(['{"city":"Paris"}', '{"city":"Rome"}']);
    expect(calls[0]?.id).toMatch(/\S/);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
  });

  it('whole arguments sent again are not doubled; a name in pieces is joined', () => {
    expect(
      assemble(
        { index: 0, id: 'a', name: 'get_', argumentsDelta: '{"city":"Oslo"}' },
        { index: 0, name: 'weather' },
        { index: 0, argumentsDelta: '{"city":"Oslo"}' },
      ),
    ).toEqual([{ id: 'a', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
  });
});
