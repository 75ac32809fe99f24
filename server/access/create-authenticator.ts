import type { Config } from '../settings/config.js';
import type { Logger } from '../observability/log.js';
import { noAuthentication, type Authenticator } from './authenticator.js';
import { createJwtAuthenticator } from './jwt.js';

/** The built-in authenticator AUTH names: `none` or `jwt`. */
export function createAuthenticator(config: Config, log: Logger): Authenticator {
  return config.AUTH === 'jwt' ? createJwtAuthenticator(config, log) : noAuthentication;
}
