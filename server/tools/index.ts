import { calculate } from './calculate.js';
import { getLocalTime } from './get-local-time.js';
import { getWeather } from './get-weather.js';
import { createToolRegistry, type Tool } from './registry.js';

/** The demo's tools: `get_weather` (needs approval), `calculate`, and `get_local_time` (the browser runs it). */
export const createDemoToolList = (): Tool[] => [getWeather, calculate, getLocalTime];

/** The tools tokenwire ships with; apps build their own registry with `createToolRegistry`. */
export const createDemoTools = () => createToolRegistry(createDemoToolList());
