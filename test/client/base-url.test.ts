import { describe, expect, it } from 'vitest';
import { checkBaseUrl, joinUrl, toWebSocketUrl } from '../../client/base-url.js';
import { createChatClient } from '../../client/index.js';

describe('joinUrl keeps the base URL\'s path', () => {
  it.each([
    ['http://h', '/api/chat', 'http://h/api/chat'],
    ['http://h/', '/api/chat', 'http://h/api/chat'],
    ['http://h/tw', '/api/chat', 'http://h/tw/api/chat'],
    ['http://h/tw/', '/api/chat', 'http://h/tw/api/chat'],
    ['http://h/tw//', '/api/chat', 'http://h/tw/api/chat'],
    ['http://h/tw', 'api/chat', 'http://h/tw/api/chat'],
    ['http://h/a/b', '/api/streams/st_1', 'http://h/a/b/api/streams/st_1'],
    ['https://h:8443/tw', '/api/approvals/call%2F1', 'https://h:8443/tw/api/approvals/call%2F1'],
    ['http://h/my%20app', '/api/chat', 'http://h/my%20app/api/chat'],
    ['http://127.0.0.1:3000', '/ws', 'http://127.0.0.1:3000/ws'],
  ])('%s + %s → %s', (base, path, expected) => {
    expect(joinUrl(base, path).href).toBe(expected);
  });

  it.each([
    ['http://h', '/ws', 'ws://h/ws'],
    ['https://h', '/ws', 'wss://h/ws'],
    ['http://h/tw', '/ws', 'ws://h/tw/ws'],
    ['https://h/tw/', '/ws', 'wss://h/tw/ws'],
    ['https://h/tw', 'socket', 'wss://h/tw/socket'],
  ])('toWebSocketUrl(%s, %s) → %s', (base, path, expected) => {
    expect(toWebSocketUrl(base, path)).toBe(expected);
  });
});

describe('a base URL tokenwire cannot be mounted at is a TypeError that says why', () => {
  it.each([
    ['http://h/tw?tenant=a', /must not have a query or fragment/],
    ['http://h/tw?', /must not have a query or fragment/],
    ['http://h/tw#top', /must not have a query or fragment/],
    ['http://h/tw#', /must not have a query or fragment/],
    ['/tw', /is not an absolute URL/],
    ['not a url', /is not an absolute URL/],
    ['ws://h/tw', /must be an http: or https: URL/],
  ])('%s', (base, message) => {
    expect(() => checkBaseUrl(base)).toThrow(TypeError);
    expect(() => checkBaseUrl(base)).toThrow(message);
    expect(() => joinUrl(base, '/api/chat')).toThrow(message);
    expect(() => createChatClient({ baseUrl: base })).toThrow(message);
  });

  it.each(['wss://other/ws', '/ws?x=1', '/ws#a'])('a wsPath that is not a path (%s) fails createChatClient at once', (wsPath) => {
    expect(() => createChatClient({ baseUrl: 'http://h/tw', wsPath })).toThrow(/must be a path under baseUrl/);
  });
});
