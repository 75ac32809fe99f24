import { describe, expect, it } from 'vitest';
import { createOriginCheck, isOriginAllowed } from '../../server/edge/ws/ws-origin.js';

describe('isOriginAllowed with ALLOWED_ORIGINS empty (the default)', () => {
  const policy = { allowed: [] };

  it('allows a request without Origin: a non-browser client', () => {
    expect(isOriginAllowed(undefined, policy)).toBe(true);
  });

  it('allows loopback origins on any port, http or https', () => {
    for (const origin of ['http://localhost:5173', 'https://localhost', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
      expect(isOriginAllowed(origin, policy)).toBe(true);
    }
  });

  it('refuses a foreign origin, a look-alike of localhost, `null` and non-http schemes', () => {
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'null', 'file://', 'chrome-extension://abc', 'not a url']) {
      expect(isOriginAllowed(origin, policy)).toBe(false);
    }
  });

  it('refuses a non-loopback origin even when it equals scheme://Host (DNS rebinding)', () => {
    // The policy has no Host to compare with: the header never makes an origin trusted.
    expect(isOriginAllowed('http://rebind.attacker.example:3000', policy)).toBe(false);
    expect(isOriginAllowed('https://chat.example.com', policy)).toBe(false);
  });
});

describe('isOriginAllowed with PUBLIC_URL set', () => {
  const policy = { allowed: [], publicUrl: 'https://chat.example.com/app' };

  it("allows the public URL's origin, normalised, and loopback", () => {
    expect(isOriginAllowed('https://chat.example.com', policy)).toBe(true);
    expect(isOriginAllowed('https://CHAT.example.com:443', policy)).toBe(true);
    expect(isOriginAllowed('http://localhost:5173', policy)).toBe(true);
  });

  it('refuses the public host on another scheme or port, and other hosts', () => {
    expect(isOriginAllowed('http://chat.example.com', policy)).toBe(false);
    expect(isOriginAllowed('https://chat.example.com:8443', policy)).toBe(false);
    expect(isOriginAllowed('https://evil.example', policy)).toBe(false);
  });
});

describe('isOriginAllowed with ALLOWED_ORIGINS set', () => {
  const policy = { allowed: ['https://app.example.com', 'http://localhost:5173/'], publicUrl: 'https://chat.example.com' };

  it('allows exactly the listed origins, normalised', () => {
    expect(isOriginAllowed('https://app.example.com', policy)).toBe(true);
    expect(isOriginAllowed('https://app.example.com:443', policy)).toBe(true);
    expect(isOriginAllowed('http://localhost:5173', policy)).toBe(true);
  });

  it('no longer allows the public URL or other loopback ports implicitly', () => {
    expect(isOriginAllowed('https://chat.example.com', policy)).toBe(false);
    expect(isOriginAllowed('http://localhost:3000', policy)).toBe(false);
    expect(isOriginAllowed('https://evil.example', policy)).toBe(false);
  });

  it('still allows clients without Origin', () => {
    expect(isOriginAllowed(undefined, policy)).toBe(true);
  });
});

describe('createOriginCheck (one answer per Origin value)', () => {
  it('answers as isOriginAllowed does, the first time and again', () => {
    const policy = { allowed: [], publicUrl: 'https://chat.example.com' };
    const allowed = createOriginCheck(policy);
    for (const origin of ['http://localhost:3000', 'https://chat.example.com', 'https://evil.example', 'null', undefined]) {
      expect(allowed(origin)).toBe(isOriginAllowed(origin, policy));
      expect(allowed(origin)).toBe(isOriginAllowed(origin, policy));
    }
  });

  it('still refuses a foreign origin after many others filled its memory', () => {
    const allowed = createOriginCheck({ allowed: [] });
    for (let i = 0; i < 1_000; i++) expect(allowed(`https://site${i}.example`)).toBe(false);
    expect(allowed('http://127.0.0.1:8080')).toBe(true);
    expect(allowed('https://evil.example')).toBe(false);
  });
});
