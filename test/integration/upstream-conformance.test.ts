import { readdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../shared/protocol.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postSse } from '../helpers/sse-client.js';
import { FIXTURE_DIR, loadFixture, replayFixture } from '../helpers/upstream-fixture.js';

// The upstream conformance suite: each fixture is the raw bytes one kind of
// OpenAI-compatible server sends for one behaviour, replayed by a loopback upstream through
// the real openai SDK; each row says what tokenwire must emit for it.

/**
 * The frames after `start`, compact: runs of tokens and of reasoning joined, tool calls with
 * their arguments, errors with code and message, done with reason and usage (p/c/t, r reasoning).
 */
function transcript(frames: ServerFrame[]): string[] {
  const out: string[] = [];
  for (const f of frames.slice(1)) {
    const last = out.length - 1;
    if (f.type === 'token' || f.type === 'reasoning') {
      const tag = f.type === 'token' ? 'text ' : 'reasoning ';
      if (out[last]?.startsWith(tag)) out[last] += f.text;
      else out.push(tag + f.text);
    } else if (f.type === 'tool_call') out.push(`tool_call ${f.name} ${JSON.stringify(f.args)}`);
    else if (f.type === 'tool_result') out.push(`tool_result ${f.ok ? `ok ${JSON.stringify(f.result)}` : f.error?.code}`);
    else if (f.type === 'error') out.push(`error ${f.code}: ${f.message}`);
    else if (f.type === 'done') {
      const u = f.usage;
      const usage = u ? ` ${u.promptTokens}/${u.completionTokens}/${u.totalTokens}${u.reasoningTokens !== undefined ? ` r${u.reasoningTokens}` : ''}` : '';
      out.push(`done ${f.reason}${usage}`);
    } else out.push(f.type);
  }
  return out;
}

interface Row {
  /** The fixtures served to the 1st, 2nd … upstream request. */
  turns: string[];
  expected: string[];
  env?: Record<string, string>;
  tools?: string[];
}

const FAILED = 'The model service failed.';
const rows: Row[] = [
  { turns: ['openai-usage.sse'], expected: ['text Hello there!', 'done stop 9/4/13 r0'] },
  { turns: ['azure-empty-choices-first.sse'], expected: ['text Bonjour !', 'done stop 11/3/14'] },
  {
    turns: ['vllm-reasoning-content.sse'],
    expected: ['reasoning The user says hi. Greet back.', 'text Hi, how can I help?', 'done stop 12/28/40'],
  },
  {
    turns: ['deepseek-reasoning-content.sse'],
    expected: ['reasoning 9.11 vs 9.9: compare tenths.', 'text 9.9 is larger.', 'done stop 15/42/57 r30'],
  },
  { turns: ['openrouter-reasoning.sse'], expected: ['reasoning Shortly: 4.', 'text 2 + 2 = 4', 'done stop 10/20/30 r12'] },
  { turns: ['ollama-reasoning.sse'], expected: ['reasoning Okay, a haiku.', 'text Old pond, a frog.', 'done stop 14/25/39'] },
  {
    turns: ['ollama-parallel-index-0.sse', 'answer-after-tools.sse'],
    tools: ['calculate'],
    expected: [
      'tool_call calculate {"expression":"6*7"}',
      'tool_result ok {"expression":"6*7","value":42}',
      'tool_call calculate {"expression":"2^10"}',
      'tool_result ok {"expression":"2^10","value":1024}',
      'text Both are done.',
      'done stop 180/34/214',
    ],
  },
  {
    turns: ['gemini-missing-index.sse', 'answer-after-tools.sse'],
    tools: ['calculate'],
    expected: [
      'tool_call calculate {"expression":"1+2"}',
      'tool_result ok {"expression":"1+2","value":3}',
      'tool_call calculate {"expression":"3*4"}',
      'tool_result ok {"expression":"3*4","value":12}',
      'text Both are done.',
      'done stop 140/20/160',
    ],
  },
  { turns: ['llamacpp.sse'], expected: ['text Sure, here it is.', 'done stop 20/5/25'] },
  { turns: ['litellm.sse'], expected: ['text Paris is the capital.', 'done stop 14/6/20'] },
  { turns: ['groq-usage-without-choices.sse'], expected: ['text Fast answer.', 'done stop 18/3/21'] },
  {
    turns: ['stall-after-first-token.sse'],
    env: { UPSTREAM_IDLE_TIMEOUT_MS: '500' },
    expected: ['text Once', 'error upstream_timeout: The model service sent nothing for 500 ms.', 'done error'],
  },
  {
    turns: ['openai-429-retry-after.sse'],
    env: { UPSTREAM_MAX_RETRIES: '2', UPSTREAM_MAX_RETRY_WAIT_MS: '5000' },
    expected: ['error upstream_rate_limited: The model service asked to wait 20000 ms before retrying, more than the 5000 ms allowed.', 'done error'],
  },
  { turns: ['vllm-503-before-first-token.sse'], expected: [`error upstream_error: ${FAILED}`, 'done error'] },
  {
    turns: ['vllm-503-before-first-token.sse', 'openai-usage.sse'],
    env: { UPSTREAM_MAX_RETRIES: '1' },
    expected: ['text Hello there!', 'done stop 9/4/13 r0'],
  },
  { turns: ['reset-mid-stream.sse'], expected: ['text Partial answ', `error upstream_error: ${FAILED}`, 'done error'] },
  {
    turns: ['body-ends-without-finish.sse'],
    expected: ['text The answer is', 'error upstream_error: The model service ended the answer without a finish reason.', 'done error'],
  },
  { turns: ['finish-without-done.sse'], expected: ['text Complete.', 'done stop'] },
  { turns: ['openai-refusal.sse'], expected: ["text I'm sorry, I can't help with that.", 'done stop 30/9/39'] },
  { turns: ['length-mid-answer.sse'], expected: ['text It was a dark and stormy', 'done length 10/5/15'] },
  { turns: ['content-filter-mid-answer.sse'], expected: ['text Here is how', 'done content_filter'] },
  { turns: ['length-mid-tool-call.sse'], tools: ['calculate'], expected: ['done length'] },
  { turns: ['content-filter-mid-tool-call.sse'], tools: ['calculate'], expected: ['done content_filter'] },
  { turns: ['utf8-split-across-reads.sse'], expected: ['text Grüße aus 日本 🚀✨ naïve café', 'done stop'] },
  { turns: ['openrouter-error-mid-stream.sse'], expected: ['text Starting', `error upstream_error: ${FAILED}`, 'done error'] },
  {
    turns: ['vllm-tool-args-repeated-whole.sse', 'answer-after-tools.sse'],
    tools: ['calculate'],
    expected: ['tool_call calculate {"expression":"6*7"}', 'tool_result ok {"expression":"6*7","value":42}', 'text Both are done.', 'done stop 160/16/176'],
  },
  // A finish reason is a complete answer, whatever the socket does after it.
  { turns: ['reset-after-finish-and-usage.sse'], expected: ['text All of it.', 'done stop 7/3/10'] },
  { turns: ['stall-after-finish.sse'], env: { UPSTREAM_IDLE_TIMEOUT_MS: '300' }, expected: ['text Done here.', 'done stop'] },
  {
    turns: ['vllm-finish-abort.sse'],
    expected: ['text Thinking about', 'error upstream_error: The model service ended the answer with an unknown finish reason "abort".', 'done error'],
  },
];

let upstream: FakeOpenAI;
let server: TestServer | undefined;
const outcomes: string[] = [];

beforeAll(async () => {
  upstream = await startFakeOpenAI();
});
afterAll(async () => {
  await upstream.close();
  console.log(`upstream conformance, ${outcomes.length} rows:\n${outcomes.join('\n')}`);
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  upstream.calls.length = 0;
});

describe('upstream conformance: recorded server behaviours through the real openai SDK', () => {
  it('every fixture file is in the table', () => {
    const used = new Set(rows.flatMap((r) => r.turns));
    expect(readdirSync(FIXTURE_DIR).filter((f) => !used.has(f))).toEqual([]);
  });

  it.each(rows.map((row) => [row.turns.join(' then '), row] as const))('%s', async (_, row) => {
    const fixtures = row.turns.map(loadFixture);
    server = await startServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseURL, UPSTREAM_MAX_RETRIES: '0', ...row.env });
    upstream.script(async (reply) => {
      const fixture = fixtures[upstream.calls.indexOf(reply.call)];
      if (!fixture) throw new Error('more upstream requests than fixtures');
      await replayFixture(reply, fixture);
    });
    const frames = await (await postSse(`${server.url}/api/chat`, { messages: [{ role: 'user', content: 'Hi' }], ...(row.tools ? { tools: row.tools } : {}) })).ended;
    const got = transcript(frames);
    const first = fixtures[0]!;
    const brief = got.map((g) => (/^(error|tool_call|done) /.test(g) ? g.replace(/:.*$/, '').split(' ').slice(0, g.startsWith('done') ? 3 : 2).join(' ') : g.split(' ')[0]));
    outcomes.push(`${row.turns.join(' + ')} [${first.server}: ${first.behaviour}] → ${brief.join(', ')}`);
    expect(frames[0]).toMatchObject({ type: 'start' });
    expect(got).toEqual(row.expected);
    expect(frames.filter((f) => f.type === 'done')).toHaveLength(1);
    expect(upstream.calls).toHaveLength(row.turns.length);
  });
});
