import { calculate } from './calculate.js';
import { getWeather } from './get-weather.js';
import { createToolRegistry } from './registry.js';

/** The tools tokenwire ships with; apps build their own registry with `createToolRegistry`. */
export const createDemoTools = () => createToolRegistry([getWeather, calculate]);
