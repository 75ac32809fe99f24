import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canControl } from '../../server/access/stream-access.js';

// "May this caller view, cancel or decide this stream?" is answered by canControl alone: every
// edge (routes, the web handler, the socket, the interop wires) calls it.

const root = fileURLToPath(new URL('../..', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [path] : [];
  });

const bound = { subject: 'ada', streamToken: 'apr_secret-token-of-ada' };
const anonymous = { subject: undefined, streamToken: 'apr_secret-token-anon' };

describe('canControl, the one access rule', () => {
  it('gives a subject-bound stream to its subject alone, whatever token is shown', () => {
    expect(canControl(bound, { subject: 'ada' })).toBe(true);
    expect(canControl(bound, { subject: 'bob', token: bound.streamToken })).toBe(false);
    expect(canControl(bound, { subject: undefined, token: bound.streamToken, holds: true })).toBe(false);
  });

  it('gives an anonymous stream to whoever holds or shows its token', () => {
    expect(canControl(anonymous, { subject: undefined, token: anonymous.streamToken })).toBe(true);
    expect(canControl(anonymous, { subject: 'bob', holds: true })).toBe(true);
    expect(canControl(anonymous, { subject: undefined, token: 'apr_wrong' })).toBe(false);
    expect(canControl(anonymous, { subject: 'bob' })).toBe(false);
  });

  it('is the only place that compares a stream’s subject or token', () => {
    const elsewhere = sources(join(root, 'server'))
      .filter((file) => !file.endsWith('access/stream-access.ts') && !file.endsWith('engine/approvals.ts'))
      .filter((file) => /\bstream\??\.subject\s*[!=]==|===\s*stream\??\.subject\b|streamTokenMatches\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(elsewhere).toEqual([]);
  });
});
