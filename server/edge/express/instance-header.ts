import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Express } from 'express';
import { HEADERS } from '../../../shared/protocol.js';

/**
 * Every answer of `app` names the instance that gave it (routing you can see), added
 * as its head is written rather than by `setHeader` on every request: a header set before
 * `writeHead(status, headers)` makes Node keep a table of every header for the response's
 * life, about 0.9 KiB per open SSE stream.
 */
export function nameInstanceOnEveryAnswer(app: Express, instanceId: string): void {
  const response = app.response as unknown as ServerResponse;
  const writeHead = response.writeHead;
  response.writeHead = function writeHeadWithInstance(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    const headers = rest.at(-1);
    if (headers !== null && typeof headers === 'object' && !Array.isArray(headers) && this.getHeaderNames().length === 0) {
      // Node's fast path: the headers go straight into the head, no table is kept.
      rest[rest.length - 1] = { ...(headers as OutgoingHttpHeaders), [HEADERS.instance]: instanceId };
    } else if (!this.headersSent) {
      this.setHeader(HEADERS.instance, instanceId);
    }
    return (writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
  } as typeof writeHead;
}
