import { describe, expect, it } from 'vitest';
import { createToolCallAssembler } from '../../server/engine/tool-call-assembler.js';
import type { ModelEvent } from '../../server/models/provider.js';

type Delta = Omit<Extract<ModelEvent, { type: 'tool_call_delta' }>, 'type'>;

const assemble = (...deltas: Delta[]) => {
  const assembler = createToolCallAssembler();
  for (const delta of deltas) assembler.add(delta);
  return assembler.calls();
};

const paris = '{"city":"Paris"}';
const rome = '{"city":"Rome"}';

describe('createToolCallAssembler', () => {
  it.each<[string, Delta[], { id: string; name: string; arguments: string }[]]>([
    [
      'OpenAI: id and name first, arguments in pieces, two calls interleaved by index',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city":' },
        { index: 1, id: 'b', name: 'calculate', argumentsDelta: '{"expression":' },
        { index: 0, argumentsDelta: '"Oslo"}' },
        { index: 1, argumentsDelta: '"6*7"}' },
      ],
      [
        { id: 'a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { id: 'b', name: 'calculate', arguments: '{"expression":"6*7"}' },
      ],
    ],
    [
      'Ollama: a new id at a used index is a new call (parallel calls all at index 0)',
      [
        { index: 0, id: 'call_a', name: 'get_weather', argumentsDelta: paris },
        { index: 0, id: 'call_b', name: 'get_weather', argumentsDelta: rome },
      ],
      [
        { id: 'call_a', name: 'get_weather', arguments: paris },
        { id: 'call_b', name: 'get_weather', arguments: rome },
      ],
    ],
    [
      'an id repeated on every piece continues its call, and a repeated name is not appended',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"ci' },
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: 'ty":"Paris"}' },
      ],
      [{ id: 'a', name: 'get_weather', arguments: paris }],
    ],
    [
      'Gemini: without an index, calls with ids are separate and pieces without either continue the latest',
      [
        { id: 'g1', name: 'get_weather', argumentsDelta: paris },
        { id: 'g2', name: 'get_weather', argumentsDelta: '{"city":' },
        { argumentsDelta: '"Rome"}' },
      ],
      [
        { id: 'g1', name: 'get_weather', arguments: paris },
        { id: 'g2', name: 'get_weather', arguments: rome },
      ],
    ],
    [
      'whole arguments sent again are not doubled; a name in pieces is joined',
      [
        { index: 0, id: 'a', name: 'get_', argumentsDelta: paris },
        { index: 0, name: 'weather' },
        { index: 0, argumentsDelta: paris },
      ],
      [{ id: 'a', name: 'get_weather', arguments: paris }],
    ],
    [
      'vLLM: the whole arguments again in the last chunk, after the pieces that built them',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city":' },
        { index: 0, argumentsDelta: '"Paris"}' },
        { index: 0, argumentsDelta: paris },
      ],
      [{ id: 'a', name: 'get_weather', arguments: paris }],
    ],
    [
      'the whole arguments after only some of their pieces, spaced differently: they replace the pieces',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city": ' },
        { index: 0, argumentsDelta: '"Par' },
        { index: 0, argumentsDelta: paris },
      ],
      [{ id: 'a', name: 'get_weather', arguments: paris }],
    ],
    [
      'an opening brace, then the whole arguments (vLLM xlam parser)',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{' },
        { index: 0, argumentsDelta: '{"city": "Paris"}' },
      ],
      [{ id: 'a', name: 'get_weather', arguments: '{"city": "Paris"}' }],
    ],
    [
      'whole arguments twice, the second re-spaced: one copy',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city": "Paris"}' },
        { index: 0, argumentsDelta: paris },
      ],
      [{ id: 'a', name: 'get_weather', arguments: paris }],
    ],
    [
      'a nested object that looks like a repeat but continues: the pieces as sent',
      [
        { index: 0, id: 'a', name: 'calculate', argumentsDelta: '{"a":' },
        { index: 0, argumentsDelta: '{"a":1}' },
        { index: 0, argumentsDelta: '}' },
      ],
      [{ id: 'a', name: 'calculate', arguments: '{"a":{"a":1}}' }],
    ],
    [
      'a complete object that does not begin with the pieces is no repeat: appended (and invalid, for the model to hear)',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city":' },
        { index: 0, argumentsDelta: '{"town":"Rome"}' },
      ],
      [{ id: 'a', name: 'get_weather', arguments: '{"city":{"town":"Rome"}' }],
    ],
    [
      'a repeat with a string holding spaces and escaped quotes compares the string as written',
      [
        { index: 0, id: 'a', name: 'get_weather', argumentsDelta: '{"city": "New \\"York' },
        { index: 0, argumentsDelta: '{"city":"New \\"York\\" City"}' },
      ],
      [{ id: 'a', name: 'get_weather', arguments: '{"city":"New \\"York\\" City"}' }],
    ],
  ])('%s', (_, deltas, expected) => {
    expect(assemble(...deltas)).toEqual(expected);
  });

  it('without index or id, a named piece after a whole call starts another; ids are made up for both', () => {
    const calls = assemble(
      { name: 'get_weather', argumentsDelta: paris },
      { name: 'get_weather', argumentsDelta: rome },
    );
    expect(calls.map((c) => c.arguments)).toEqual([paris, rome]);
    expect(calls[0]?.id).toMatch(/\S/);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
  });
});
