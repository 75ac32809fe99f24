// One tokenwire core for every route of the app: the streams, their logs and approvals live
// in it, so chat, resume, cancel and approvals must share it. tokenwire is not published as a
// package: copy its server/, shared/ and client/ folders into your app (README.md beside this
// file), and these paths point at them.
import { loadConfig } from '../../../../server/config.js';
import { createCore } from '../../../../server/core.js';
import { createLogger } from '../../../../server/log.js';

const config = loadConfig(process.env);
export const core = createCore(config, { log: createLogger(config) });
