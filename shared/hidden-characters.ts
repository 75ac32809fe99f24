/**
 * Characters a person cannot see on an approval card but that change what its text says: the
 * zero-width ones (U+200B–U+200D, U+2060, U+FEFF) and Unicode's bidirectional controls (the
 * Bidi_Control property: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), with which
 * text can display in another order than it runs ("Trojan Source", CVE-2021-42574).
 */
const HIDDEN = /[\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g;

/** Where arguments hold hidden characters: a JSON Pointer (RFC 6901) and the code points found there. */
export interface HiddenCharacters {
  /** The string value, or the member whose name holds them (`""` for the whole value). */
  path: string;
  /** `U+XXXX`, each once, in order of first appearance. */
  codePoints: string[];
}

const codePointOf = (char: string) => `U+${(char.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** The hidden code points of `text`, each once, in order; empty when it has none. */
function hiddenIn(text: string): string[] {
  const found = new Set<string>();
  for (const [char] of text.matchAll(HIDDEN)) found.add(codePointOf(char));
  return [...found];
}

/** Every string and member name of `value` (parsed JSON) that holds hidden characters. */
export function findHiddenCharacters(value: unknown, path = ''): HiddenCharacters[] {
  if (typeof value === 'string') {
    const codePoints = hiddenIn(value);
    return codePoints.length ? [{ path, codePoints }] : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  const found: HiddenCharacters[] = [];
  for (const [key, member] of Object.entries(value)) {
    const at = `${path}/${pointerToken(key)}`;
    const inKey = hiddenIn(key);
    const inMember = findHiddenCharacters(member, at);
    const own = inMember[0]?.path === at ? inMember.shift() : undefined;
    const codePoints = [...new Set([...inKey, ...(own?.codePoints ?? [])])];
    if (codePoints.length) found.push({ path: at, codePoints });
    found.push(...inMember);
  }
  return found;
}

/** `text` with each hidden character written out visibly, as `⟦U+202E⟧`. */
export const showHiddenCharacters = (text: string): string => text.replace(HIDDEN, (char) => `⟦${codePointOf(char)}⟧`);
