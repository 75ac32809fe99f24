import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import type { Config } from './config.js';

/**
 * This process's name in logs, `start` frames, `X-Tokenwire-Instance` and audit records:
 * INSTANCE_ID (with `-w<n>` for a cluster worker), else host name and pid.
 */
export function instanceIdOf(config: Pick<Config, 'INSTANCE_ID'>, worker?: number): string {
  const base = config.INSTANCE_ID ?? `${hostname()}:${process.pid}`;
  return config.INSTANCE_ID !== undefined && worker !== undefined ? `${base}-w${worker}` : base;
}

/**
 * This process's incarnation: the instance name plus a random suffix, so a restarted process
 * that reuses its name (a container's pid 1) never renews the lease of the one that died.
 */
export const incarnationOf = (instanceId: string): string => `${instanceId}#${nanoid(8)}`;
