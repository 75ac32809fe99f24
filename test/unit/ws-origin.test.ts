import { describe, expect, it } from 'vitest';
import { isOriginAllowed, type OriginRequest } from '../../server/transports/ws-origin.js';

const request = (origin: string | undefined, host = 'chat.example.com', scheme: 'http' | 'https' = 'https'): OriginRequest => ({ origin, host, scheme });

describe('isOriginAllowed with ALLOWED_ORIGINS empty (the default)', () => {
  it('allows a request without Origin: a non-browser client', () => {
    expect(isOriginAllowed(request(undefined), [])).toBe(true);
  });

  it("allows the server's own origin: scheme and Host, default port folded", () => {
    expect(isOriginAllowed(request('https://chat.example.com'), [])).toBe(true);
    expect(isOriginAllowed(request('https://chat.example.com', 'chat.example.com:443'), [])).toBe(true);
    expect(isOriginAllowed(request('https://CHAT.example.com'), [])).toBe(true);
    expect(isOriginAllowed(request('http://chat.example.com:8080', 'chat.example.com:8080', 'http'), [])).toBe(true);
  });

  it('refuses the own host on another scheme or port', () => {
    expect(isOriginAllowed(request('http://chat.example.com'), [])).toBe(false);
    expect(isOriginAllowed(request('https://chat.example.com:8443'), [])).toBe(false);
  });

  it('allows loopback origins on any port, http or https', () => {
    for (const origin of ['http://localhost:5173', 'https://localhost', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
      expect(isOriginAllowed(request(origin), [])).toBe(true);
    }
  });

  it('refuses a foreign origin, a look-alike of localhost, `null` and non-http schemes', () => {
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'null', 'file://', 'chrome-extension://abc', 'not a url']) {
      expect(isOriginAllowed(request(origin), [])).toBe(false);
    }
  });

  it('refuses when the Host header is missing and the origin is not loopback', () => {
    expect(isOriginAllowed({ origin: 'https://chat.example.com', host: undefined, scheme: 'https' }, [])).toBe(false);
  });
});

describe('isOriginAllowed with ALLOWED_ORIGINS set', () => {
  const allowed = ['https://app.example.com', 'http://localhost:5173/'];

  it('allows exactly the listed origins, normalised', () => {
    expect(isOriginAllowed(request('https://app.example.com'), allowed)).toBe(true);
    expect(isOriginAllowed(request('https://app.example.com:443'), allowed)).toBe(true);
    expect(isOriginAllowed(request('http://localhost:5173'), allowed)).toBe(true);
  });

  it('no longer allows the own origin or other loopback ports implicitly', () => {
    expect(isOriginAllowed(request('https://chat.example.com'), allowed)).toBe(false);
    expect(isOriginAllowed(request('http://localhost:3000'), allowed)).toBe(false);
    expect(isOriginAllowed(request('https://evil.example'), allowed)).toBe(false);
  });

  it('still allows clients without Origin', () => {
    expect(isOriginAllowed(request(undefined), allowed)).toBe(true);
  });
});
