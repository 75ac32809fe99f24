import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** One JSON logger for the process; every line names the instance (issue 10), children carry the stream id. */
export const createLogger = (config: Pick<Config, 'LOG_LEVEL'>, instance?: string): Logger =>
  pino({ level: config.LOG_LEVEL, base: { service: 'tokenwire', ...(instance !== undefined ? { instance } : {}) } });
