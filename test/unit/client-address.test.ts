import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createAddressOf } from '../../server/edge/client-address.js';

const request = (remoteAddress: string | undefined, forwarded?: string) =>
  ({ socket: { remoteAddress }, connection: { remoteAddress }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as IncomingMessage;

describe('the client address for per-client limits', () => {
  it('is the peer without TRUST_PROXY, whatever X-Forwarded-For says', () => {
    const addressOf = createAddressOf([]);
    expect(addressOf(request('127.0.0.1', '203.0.113.9'))).toBe('127.0.0.1');
    expect(addressOf(request(undefined))).toBe('unknown');
  });

  it('is the forwarded address through a trusted proxy, and the peer through an untrusted one', () => {
    const addressOf = createAddressOf(['loopback']);
    expect(addressOf(request('127.0.0.1', '203.0.113.9'))).toBe('203.0.113.9');
    expect(addressOf(request('198.51.100.7', '203.0.113.9'))).toBe('198.51.100.7');
  });
});
