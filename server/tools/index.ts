import { calculate } from './calculate.js';
import { getWeather } from './get-weather.js';
import { createToolRegistry, type Tool } from './registry.js';

/** The demo's tools: `get_weather` (needs approval) and `calculate`. */
export const createDemoToolList = (): Tool[] => [getWeather, calculate];

/** The tools tokenwire ships with; apps build their own registry with `createToolRegistry`. */
export const createDemoTools = () => createToolRegistry(createDemoToolList());
