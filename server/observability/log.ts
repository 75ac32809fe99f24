import { pino } from 'pino';
import type { Config } from '../settings/config.js';

/**
 * What tokenwire logs through: any object with these four methods taking an object of fields
 * and a message, as pino, bunyan and winston-style loggers (and `console`) do. Expected, typed
 * refusals go to `debug`/`warn`; `error` is for what tokenwire cannot explain.
 */
export interface Logger {
  /** Routine refusals: a malformed request or frame, a refused token, a socket error. `fields` may be the message alone. */
  debug(fields: object | string, message?: string): void;
  /** Events an operator may want on record: each approval decision (`fields.audit`), a refused foreign origin. */
  info(fields: object | string, message?: string): void;
  /** Trouble that is handled: a stream that failed upstream, a Redis connection lost and retried. */
  warn(fields: object | string, message?: string): void;
  /** What tokenwire cannot explain (answered `internal`), or a store that could not be opened; the cause is in `fields.err`. */
  error(fields: object | string, message?: string): void;
}

/** One JSON logger for the process; every line names the instance, children carry the stream id. */
export const createLogger = (config: Pick<Config, 'LOG_LEVEL'>, instance?: string): Logger =>
  pino({ level: config.LOG_LEVEL, base: { service: 'tokenwire', ...(instance !== undefined ? { instance } : {}) } });
