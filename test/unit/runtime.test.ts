import { describe, expect, it } from 'vitest';

// The project supports Node 22.12+ and 24 (package.json engines); CI runs on 24 through
// scripts/node-runtime.sh even where the machine ships an older node.
describe('runtime', () => {
  it('runs on Node 22.12 or later, with a built-in WHATWG WebSocket', () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    console.log(`tokenwire tests on node ${process.version}`);
    expect(major > 22 || (major === 22 && minor >= 12)).toBe(true);
    expect(typeof globalThis.WebSocket).toBe('function');
  });
});
