import { pino } from 'pino';
import type { Config } from './config.js';

/**
 * What tokenwire logs through: any object with these four methods taking an object of fields
 * and a message, as pino, bunyan and winston-style loggers (and `console`) do. Expected, typed
 * refusals go to `debug`/`warn`; `error` is for what tokenwire cannot explain.
 */
export interface Logger {
  debug(fields: object | string, message?: string): void;
  info(fields: object | string, message?: string): void;
  warn(fields: object | string, message?: string): void;
  error(fields: object | string, message?: string): void;
}

/** One JSON logger for the process; every line names the instance, children carry the stream id. */
export const createLogger = (config: Pick<Config, 'LOG_LEVEL'>, instance?: string): Logger =>
  pino({ level: config.LOG_LEVEL, base: { service: 'tokenwire', ...(instance !== undefined ? { instance } : {}) } });
