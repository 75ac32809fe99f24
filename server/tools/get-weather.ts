import { z } from 'zod';
import { hashText } from '../models/simulated-text.js';
import { defineTool } from './registry.js';

const CONDITIONS = ['sunny', 'partly cloudy', 'overcast', 'light rain', 'windy', 'foggy', 'clear'];

/** Demo tool: made-up but deterministic weather for a city. Needs approval. */
export const getWeather = defineTool({
  name: 'get_weather',
  description: 'Get the current weather for a city.',
  // Trimmed by the schema, so the person approves the same city the tool looks up.
  parameters: z.strictObject({ city: z.string().trim().min(1).max(80).describe('The city, e.g. "Paris"') }),
  async run({ city }) {
    const h = hashText(city.toLowerCase());
    return {
      city,
      conditions: CONDITIONS[h % CONDITIONS.length],
      temperatureC: (h % 35) - 5,
      humidity: 30 + (h % 60),
      windKph: h % 40,
    };
  },
});
