// One tokenwire core for every route of the app: the streams, their logs and approvals live
// in it, so chat, resume, cancel and approvals must share it. Fix the import paths when you
// copy this (here they point into this repository so the example type-checks with it).
import { loadConfig } from '../../../../server/config.js';
import { createCore } from '../../../../server/core.js';
import { createLogger } from '../../../../server/log.js';

const config = loadConfig(process.env);
export const core = createCore(config, { log: createLogger(config) });
