import { describe, expect, it } from 'vitest';
import { calculate } from '../../server/tools/calculate.js';
import { getWeather } from '../../server/tools/get-weather.js';
import { createDemoTools } from '../../server/tools/index.js';
import { createToolRegistry, ToolError } from '../../server/tools/registry.js';
import { isTokenwireError } from '../../shared/errors.js';

const context = { signal: new AbortController().signal, subject: undefined, streamId: 'st_test', callId: 'call_test' };

describe('tool registry', () => {
  it('selects requested tools once each, with the JSON Schema the model is given', () => {
    const { tools, specs } = createDemoTools().select(['get_weather', 'get_weather']);
    expect(tools.map((t) => t.name)).toEqual(['get_weather']);
    expect(specs).toEqual([
      {
        name: 'get_weather',
        description: 'Get the current weather for a city.',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string', minLength: 1, maxLength: 80, description: 'The city, e.g. "Paris"' } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    ]);
  });

  it('refuses an unknown tool name with unknown_tool, naming it and the known ones', () => {
    let thrown: unknown;
    try {
      createDemoTools().select(['get_weather', 'rm_rf']);
    } catch (error) {
      thrown = error;
    }
    expect(isTokenwireError(thrown) && thrown.code).toBe('unknown_tool');
    expect((thrown as Error).message).toBe('Unknown tool: rm_rf. Known tools: get_weather, calculate, get_local_time.');
  });

  it('says the server has no tools when none are registered, rather than an empty list', () => {
    const refused = () => createToolRegistry([]).select(['get_weather']);
    expect(refused).toThrow(expect.objectContaining({ code: 'unknown_tool', message: 'Unknown tool: get_weather. This server has no tools.' }));
  });
});

describe('demo tools', () => {
  it('get_weather needs approval; calculate is marked safe', () => {
    expect(getWeather.needsApproval).toBe(true);
    expect(calculate.needsApproval).toBe(false);
  });

  it('get_weather trims the city in its schema, so what is approved is what is looked up', async () => {
    const parsed = getWeather.parameters.safeParse({ city: '  Paris ' });
    expect(parsed).toMatchObject({ success: true, data: { city: 'Paris' } });
    expect(getWeather.parameters.safeParse({ city: '   ' }).success).toBe(false);
    expect(getWeather.parameters.safeParse({ city: 'Paris', units: 'F' }).success).toBe(false);
    const result = (await getWeather.run({ city: 'Paris' }, context)) as { city: string };
    expect(result.city).toBe('Paris');
    expect(await getWeather.run({ city: 'Paris' }, context)).toEqual(result);
  });

  it('calculate returns the value, and a bad expression as ToolError invalid_expression', async () => {
    expect(await calculate.run({ expression: '2 * (3 + 4)' }, context)).toEqual({ expression: '2 * (3 + 4)', value: 14 });
    await expect(calculate.run({ expression: '1/0' }, context)).rejects.toEqual(new ToolError('invalid_expression', 'Division by zero'));
  });
});
