import { describe, expect, it } from 'vitest';
import { findHiddenCharacters, showHiddenCharacters } from '../../shared/hidden-characters.js';

describe('hidden characters in tool arguments', () => {
  it('finds every zero-width and bidi control character, by JSON Pointer, in values, member names and arrays', () => {
    const args = {
      plain: 'nothing here, not even é or 日本',
      'we/ird~\u200d': 'x\u2066y\u2069',
      list: ['ok', 'a\ufeffb\u061c'],
      nested: { deeper: 'rm -rf /\u202e' },
    };
    expect(findHiddenCharacters(args)).toEqual([
      { path: '/we~1ird~0\u200d', codePoints: ['U+200D', 'U+2066', 'U+2069'] },
      { path: '/list/1', codePoints: ['U+FEFF', 'U+061C'] },
      { path: '/nested/deeper', codePoints: ['U+202E'] },
    ]);
    expect(findHiddenCharacters({ a: 1, b: null, c: [true] })).toEqual([]);
  });

  it('covers each range at both ends and nothing beside them', () => {
    const inside = [0x061c, 0x200b, 0x200f, 0x202a, 0x202e, 0x2060, 0x2066, 0x2069, 0xfeff];
    const beside = [0x061b, 0x200a, 0x2010, 0x2029, 0x202f, 0x2061, 0x2065, 0x206a, 0xfefe];
    const text = (points: number[]) => String.fromCodePoint(...points);
    expect(findHiddenCharacters(text(inside))[0]?.codePoints).toHaveLength(inside.length);
    expect(findHiddenCharacters(text(beside))).toEqual([]);
  });

  it('writes them out visibly for a card', () => {
    expect(showHiddenCharacters('{"to":"evil\u202e.com\u200b"}')).toBe('{"to":"evil⟦U+202E⟧.com⟦U+200B⟧"}');
  });
});
