/** Deterministic text for the simulated model: the same prompt always gives the same words. */

const OPENINGS = [
  'Once upon a time,',
  'In a quiet harbour town,',
  'Long before the lights came on,',
  'On the edge of a wide map,',
];
const SUBJECTS = ['a patient engineer', 'an old lighthouse keeper', 'a curious fox', 'a tired courier', 'a small robot'];
const VERBS = ['noticed', 'followed', 'repaired', 'counted', 'listened to', 'carried'];
const OBJECTS = [
  'a stream of tiny signals',
  'the tokens drifting in from the sea',
  'a lantern that blinked in order',
  'every frame that arrived late',
  'the heartbeat of the night',
];
const ENDINGS = [
  'and nothing was lost.',
  'until the last message came home.',
  'and the story went on, one word at a time.',
  'and each piece found its place.',
];

/** FNV-1a: a small, stable hash of the prompt to seed the generator. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a tiny deterministic PRNG. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An endless, deterministic sequence of story sentences for a prompt, each ending in a full stop. */
export function* storySentences(prompt: string): Generator<string> {
  const next = random(hashText(prompt));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  for (;;) yield `${pick(OPENINGS)} ${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(ENDINGS)}`;
}

/**
 * Word tokens: the `first` ones, then each further sentence's words, each with its leading
 * space, for ever. It walks one array per sentence: a generator resumed per token (and a
 * `yield*` delegating to another) was a tenth of the per-token path's CPU.
 */
export function sentenceTokens(first: string[], sentences: Iterator<string>): IterableIterator<string> {
  let words = first;
  let i = 0;
  const tokens: IterableIterator<string> = {
    next() {
      while (i >= words.length) {
        words = (sentences.next().value as string).split(' ').map((w) => ` ${w}`);
        i = 0;
      }
      return { value: words[i++] as string, done: false };
    },
    [Symbol.iterator]: () => tokens,
  };
  return tokens;
}

/** An endless, deterministic sequence of word tokens (each but the first with a leading space). */
export function storyTokens(prompt: string): IterableIterator<string> {
  const sentences = storySentences(prompt);
  return sentenceTokens(wordTokens(sentences.next().value as string), sentences);
}

const THOUGHTS = [
  'The user wants an answer to this prompt.',
  'Say the main point first, then the detail.',
  'Keep each sentence short and plain.',
  'Check that the last sentence ends the answer.',
];

/** An endless, deterministic sequence of reasoning tokens, the simulated model's "thinking". */
export function* thinkingTokens(): Generator<string> {
  for (let first = true; ; ) {
    for (const thought of THOUGHTS) {
      for (const word of thought.split(' ')) {
        yield first ? word : ` ${word}`;
        first = false;
      }
    }
  }
}

/** Splits a finished sentence into word tokens the way `storyTokens` does. */
export const wordTokens = (text: string): string[] => text.split(' ').map((w, i) => (i === 0 ? w : ` ${w}`));
