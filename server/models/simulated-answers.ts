/**
 * What the simulated model says: a canned answer for the demo's presets and prompts like them,
 * otherwise a short story of whole sentences seeded by the prompt. Deterministic:
 * the same prompt always gives the same words.
 */
import { hashText, sentenceTokens, storySentences, wordTokens } from './simulated-text.js';

interface CannedAnswer {
  /** Which prompts it answers; the first match wins, so the narrower ones come first. */
  match: RegExp;
  text: string;
}

const CANNED: readonly CannedAnswer[] = [
  {
    match: /\bweather\b/i,
    text:
      'I cannot look up live weather on my own. Offer the get_weather tool with your question, ' +
      'and I will ask for your approval before I check the city you named.',
  },
  {
    match: /\b(?:sse|server-sent events?|websockets?)\b.*\b(?:sse|server-sent events?|websockets?)\b|\bcompare\b.*\btransports?\b/i,
    text:
      'Server-Sent Events carry one answer from the server to the browser over a plain HTTP response, ' +
      'so proxies, caches and auth work as they do for any request, and the browser resumes with Last-Event-ID. ' +
      'A WebSocket carries frames both ways on one connection, which suits flows where the person answers mid-stream, ' +
      'such as approving a tool call or cancelling. ' +
      'The framing costs differ a little: SSE spends a few bytes per event on its field names, a WebSocket two to six bytes per message. ' +
      'Pick SSE for one-way chat and a WebSocket when the browser must talk back.',
  },
  {
    match: /\bstream(?:s|ed|ing)?\b/i,
    text:
      'Streaming sends an answer in pieces as the model produces them, instead of waiting for the whole reply. ' +
      'The server writes each token to an open connection the moment it exists, and the browser adds it to the page, ' +
      'so the first words appear in a fraction of a second even when the full answer takes many seconds. ' +
      'Each piece carries a sequence number, which lets a client that lost its connection ask for everything after the last piece it saw. ' +
      'The result feels like a person typing, and nothing is lost when the network drops for a moment.',
  },
  {
    match: /\blighthouse\b/i,
    text:
      'On a rocky point above a grey harbour stood a lighthouse that had not missed a night in ninety years. ' +
      'Its keeper, an old woman named Ada, climbed the spiral stairs every evening and trimmed the lamp by hand. ' +
      'One winter a storm cut the cable to the mainland, and the beam flickered and went dark. ' +
      'Ada lit the oil lantern her grandfather had kept, carried it to the top, and turned it slowly through the night. ' +
      'At dawn a fishing boat came home through the fog, its crew counting the flashes that had guided them past the rocks. ' +
      'When the power returned, Ada kept the lantern beside the lamp, just in case.',
  },
];

/** Each canned answer's word tokens, split once rather than per start. */
const CANNED_TOKENS: readonly string[][] = CANNED.map((answer) => wordTokens(answer.text));

/** How many words the generated story has at least: 48 to 95, by the prompt. */
const storyLength = (seed: string): number => 48 + (hashText(seed) % 48);

/** The whole answer to a prompt: a canned one, or whole sentences of a story until it is long enough. */
export function answerText(prompt: string): string {
  const canned = CANNED.find((answer) => answer.match.test(prompt));
  if (canned) return canned.text;
  const want = storyLength(prompt);
  const sentences: string[] = [];
  let words = 0;
  for (const sentence of storySentences(prompt)) {
    sentences.push(sentence);
    words += sentence.split(' ').length;
    if (words >= want) break;
  }
  return sentences.join(' ');
}

/**
 * The answer as word tokens, then, for a caller that asked for more tokens than the answer has
 * (`simulate.tokens`), a story that goes on for ever; each token but the first has its space.
 */
export function answerTokens(prompt: string): IterableIterator<string> {
  const more = storySentences(`${prompt}\u0000more`);
  const canned = CANNED.findIndex((answer) => answer.match.test(prompt));
  if (canned >= 0) return sentenceTokens(CANNED_TOKENS[canned] as string[], more);
  // answerText's story a sentence at a time: a start costs its first sentence, not the whole text.
  const story = storySentences(prompt);
  const want = storyLength(prompt);
  let words = 0;
  const sentences: Iterator<string> = {
    next() {
      if (words >= want) return more.next();
      const sentence = story.next().value as string;
      words += sentence.split(' ').length;
      return { value: sentence, done: false };
    },
  };
  return sentenceTokens(wordTokens(sentences.next().value as string), sentences);
}

/** How many tokens the answer has when nobody asks for a length. */
export const answerLength = (prompt: string): number => answerText(prompt).split(' ').length;
