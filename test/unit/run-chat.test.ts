import { afterEach, describe, expect, it } from 'vitest';
import { createApprovalGate } from '../../server/engine/approvals.js';
import { runChat, type EngineDeps } from '../../server/engine/run-chat.js';
import { createLogger } from '../../server/observability/log.js';
import { createMetrics } from '../../server/observability/metrics.js';
import type { ModelEvent, ModelProvider } from '../../server/models/provider.js';
import type { Hub } from '../../server/streams/hub.js';
import { createTestHub, loggedFrames } from '../helpers/hub.js';
import { TokenwireError } from '../../shared/errors.js';
import type { ChatRequest } from '../../shared/protocol.js';
import { scriptedProvider } from '../helpers/scripted-provider.js';
import { calculate } from '../../server/tools/calculate.js';
import type { ModelMessage, ModelRequest, ModelSink } from '../../server/models/provider.js';
import { createSimulatedProvider } from '../../server/models/simulated.js';

const log = createLogger({ LOG_LEVEL: 'silent' });
let hub: Hub;
afterEach(() => hub?.close());

function setup(provider: ModelProvider) {
  hub = createTestHub();
  const metrics = createMetrics();
  const deps: EngineDeps = {
    provider,
    approvals: createApprovalGate(),
    metrics,
    log,
    maxToolRounds: 3,
    approvalTimeoutMs: 1000,
    toolTimeoutMs: 1000,
  };
  const stream = hub.create({ model: 'm', transport: 'sse' });
  return { stream, deps, metrics };
}

const request: ChatRequest = { messages: [{ role: 'user', content: 'hi' }] };
const frames = loggedFrames;

async function* events(...list: ModelEvent[]): AsyncIterable<ModelEvent> {
  yield* list;
}

describe('runChat', () => {
  it('streams text as tokens and ends with one done carrying usage', async () => {
    const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3 };
    const { stream, deps } = setup(scriptedProvider([() => events({ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'finish', reason: 'stop', usage })]));
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect(await frames(stream)).toEqual([
      expect.objectContaining({ type: 'start' }),
      expect.objectContaining({ type: 'token', text: 'a' }),
      expect.objectContaining({ type: 'token', text: 'b' }),
      expect.objectContaining({ type: 'done', reason: 'stop', usage }),
    ]);
  });

  it('turns a failure after streaming began into an error frame, then done with reason error', async () => {
    const { stream, deps } = setup(
      scriptedProvider([
        async function* () {
          yield { type: 'text', text: 'a' };
          throw new TokenwireError('upstream_error');
        },
      ]),
    );
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect((await frames(stream)).slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'upstream_error', retryable: true }),
      expect.objectContaining({ type: 'done', reason: 'error' }),
    ]);
  });

  it('never puts an unknown error message on the wire', async () => {
    const { stream, deps } = setup(
      scriptedProvider([
        async function* () {
          throw new Error('secret internals');
        },
      ]),
    );
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    const error = (await frames(stream)).find((f) => f.type === 'error') as unknown as { code: string; message: string };
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('secret');
  });

  it('ends with done cancelled when aborted, and counts tokens that arrive after the abort', async () => {
    let abort: () => void = () => {};
    const { stream, deps, metrics } = setup(
      scriptedProvider([
        async function* () {
          yield { type: 'text', text: 'a' };
          abort();
          yield { type: 'text', text: 'unread' };
        },
      ]),
    );
    abort = () => stream.abort('client_gone');
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect((await frames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect((await metrics.tokensAfterDisconnect.get()).values[0]?.value).toBe(1);
  });

  it('on shutdown sends server_shutdown, retryable, then done with reason error', async () => {
    let stop: () => void = () => {};
    const { stream, deps } = setup(
      scriptedProvider([
        async function* (req) {
          yield { type: 'text', text: 'a' };
          stop();
          if (req.signal.aborted) throw req.signal.reason;
        },
      ]),
    );
    stop = () => stream.abort('shutdown');
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect((await frames(stream)).slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'server_shutdown', retryable: true }),
      expect.objectContaining({ type: 'done', reason: 'error' }),
    ]);
  });

  it('streams reasoning as reasoning frames, apart from the answer\'s tokens', async () => {
    const usage = { promptTokens: 1, completionTokens: 5, totalTokens: 6, reasoningTokens: 3 };
    const { stream, deps } = setup(
      scriptedProvider([() => events({ type: 'reasoning', text: 'think' }, { type: 'text', text: 'Yes' }, { type: 'finish', reason: 'stop', usage })]),
    );
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect((await frames(stream)).slice(1)).toEqual([
      expect.objectContaining({ type: 'reasoning', text: 'think' }),
      expect.objectContaining({ type: 'token', text: 'Yes' }),
      expect.objectContaining({ type: 'done', reason: 'stop', usage }),
    ]);
  });

  it('a turn that ends without a finish is an upstream_error, never a stop', async () => {
    const { stream, deps } = setup(scriptedProvider([() => events({ type: 'text', text: 'cut' })]));
    await runChat(stream, request, { tools: [], specs: [] }, deps);
    expect((await frames(stream)).slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'upstream_error' }),
      expect.objectContaining({ type: 'done', reason: 'error' }),
    ]);
  });

  it.each(['length', 'content_filter'] as const)('%s mid-tool-call ends the stream with that reason: no tool runs, no second turn', async (reason) => {
    const provider = scriptedProvider([
      () => events({ type: 'tool_call_delta', index: 0, id: 'c1', name: 'lookup', argumentsDelta: '{"thi' }, { type: 'finish', reason }),
    ]);
    const { stream, deps } = setup(provider);
    await runChat(stream, request, { tools: [], specs: [{ name: 'lookup', description: 'd', parameters: {} }] }, deps);
    expect((await frames(stream)).map((f) => f.type)).toEqual(['start', 'done']);
    expect((await frames(stream)).at(-1)).toMatchObject({ reason });
    expect(provider.requests).toHaveLength(1);
  });

  describe('with a provider that pushes', () => {
    /** A pushing model whose turns the test writes; `requests` keeps what each turn was asked. */
    function pushingProvider(turns: ((request: ModelRequest, sink: ModelSink) => Promise<void>)[]): ModelProvider & { requests: ModelRequest[]; conversations: ModelMessage[][] } {
      const requests: ModelRequest[] = [];
      const conversations: ModelMessage[][] = [];
      return {
        name: 'simulated',
        defaultModel: 'pushed',
        requests,
        conversations,
        stream: () => {
          throw new Error('the engine must use push');
        },
        push(request, sink) {
          requests.push(request);
          // A snapshot: the engine may add to its conversation after the turn.
          conversations.push([...request.messages]);
          const turn = turns[requests.length - 1];
          if (!turn) throw new Error(`no pushed turn ${requests.length}`);
          return turn(request, sink);
        },
      };
    }

    it('a tool round sends the turn\'s whole text back as the assistant message, and leaves the request\'s messages alone', async () => {
      // More tokens than the sink joins at a time (256), so the text crosses a join.
      const words = Array.from({ length: 300 }, (_, i) => `w${i} `);
      const provider = pushingProvider([
        async (_request, sink) => {
          for (const word of words) sink.text(word);
          sink.event({ type: 'tool_call_delta', index: 0, id: 'c1', name: 'calculate', argumentsDelta: '{"expression":' });
          sink.event({ type: 'tool_call_delta', index: 0, argumentsDelta: '"2+3"}' });
          sink.event({ type: 'finish', reason: 'tool_calls' });
        },
        async (_request, sink) => {
          sink.text('Five.');
          sink.event({ type: 'finish', reason: 'stop' });
        },
      ]);
      const { stream, deps, metrics } = setup(provider);
      const asked: ChatRequest = { messages: [{ role: 'user', content: 'what is 2+3' }] };
      await runChat(stream, asked, { tools: [calculate], specs: [{ name: 'calculate', description: 'd', parameters: {} }] }, deps);
      expect(provider.conversations[1]).toEqual([
        { role: 'user', content: 'what is 2+3' },
        { role: 'assistant', content: words.join(''), toolCalls: [{ id: 'c1', name: 'calculate', arguments: '{"expression":"2+3"}' }] },
        { role: 'tool', toolCallId: 'c1', toolName: 'calculate', content: expect.stringContaining('"ok":true') },
      ]);
      expect(asked.messages).toHaveLength(1);
      const logged = await frames(stream);
      expect(logged.filter((f) => f.type === 'token')).toHaveLength(301);
      expect(logged.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
      expect(metrics.tally.tokens).toBe(301);
    });

    it('stops at MAX_TOOL_ROUNDS with done tool_rounds, counting every turn\'s tokens', async () => {
      const toolTurn = async (_request: ModelRequest, sink: ModelSink) => {
        sink.text('Checking.');
        sink.event({ type: 'tool_call_delta', index: 0, id: `c${provider.requests.length}`, name: 'calculate', argumentsDelta: '{"expression":"1+1"}' });
        sink.event({ type: 'finish', reason: 'tool_calls' });
      };
      const provider = pushingProvider([toolTurn, toolTurn, toolTurn, toolTurn]);
      const { stream, deps, metrics } = setup(provider);
      await runChat(stream, request, { tools: [calculate], specs: [{ name: 'calculate', description: 'd', parameters: {} }] }, { ...deps, maxToolRounds: 2 });
      expect(provider.requests).toHaveLength(3);
      expect((await frames(stream)).filter((f) => f.type === 'tool_result')).toHaveLength(2);
      expect((await frames(stream)).at(-1)).toMatchObject({ type: 'done', reason: 'tool_rounds' });
      expect(metrics.tally.tokens).toBe(3);
    });

    it('a model that fails in a later turn, or throws at once, ends the stream with error then done error', async () => {
      const failing = pushingProvider([
        async (_request, sink) => {
          sink.event({ type: 'tool_call_delta', index: 0, id: 'c1', name: 'calculate', argumentsDelta: '{"expression":"1+1"}' });
          sink.event({ type: 'finish', reason: 'tool_calls' });
        },
        async (_request, sink) => {
          sink.text('half');
          throw new TokenwireError('upstream_error');
        },
      ]);
      const later = setup(failing);
      await runChat(later.stream, request, { tools: [calculate], specs: [{ name: 'calculate', description: 'd', parameters: {} }] }, later.deps);
      expect((await frames(later.stream)).slice(-2)).toEqual([
        expect.objectContaining({ type: 'error', code: 'upstream_error' }),
        expect.objectContaining({ type: 'done', reason: 'error' }),
      ]);
      expect(later.metrics.tally.tokens).toBe(1);

      const throwing = pushingProvider([
        () => {
          throw new Error('not a promise');
        },
      ]);
      const atOnce = setup(throwing);
      await expect(runChat(atOnce.stream, request, { tools: [], specs: [] }, atOnce.deps)).resolves.toMatchObject({ reason: 'error', error: { code: 'internal' } });
      expect((await frames(atOnce.stream)).slice(-2)).toEqual([
        expect.objectContaining({ type: 'error', code: 'internal' }),
        expect.objectContaining({ type: 'done', reason: 'error' }),
      ]);
    });

    it('an abort reaches the model through its request\'s signal, and the stream ends with done cancelled', async () => {
      let asked: () => void = () => {};
      const waiting = new Promise<void>((resolve) => (asked = resolve));
      const provider = pushingProvider([
        (request) =>
          new Promise<void>((_resolve, reject) => {
            request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
            asked();
          }),
      ]);
      const { stream, deps, metrics } = setup(provider);
      const ran = runChat(stream, request, { tools: [], specs: [] }, deps);
      await waiting;
      stream.abort('cancelled');
      await ran;
      expect(provider.requests[0]?.signal.aborted).toBe(true);
      expect((await frames(stream)).map((f) => f.type)).toEqual(['start', 'done']);
      expect((await frames(stream)).at(-1)).toMatchObject({ reason: 'cancelled' });
      expect((await metrics.upstreamAborts.get()).values[0]).toMatchObject({ value: 1, labels: { cause: 'cancelled' } });
    });

    it.each(['parked', 'already aborted'] as const)(
      'the simulated model, %s: an abort reaches it without an AbortSignal, and the stream ends with done cancelled at once',
      async (when) => {
        // The first token is a minute away: only the abort can end this turn within the test.
        const { stream, deps } = setup(createSimulatedProvider({ tokensPerSecond: 30, firstTokenMs: 60_000 }));
        if (when === 'already aborted') stream.abort('cancelled');
        const ran = runChat(stream, request, { tools: [], specs: [] }, deps);
        if (when === 'parked') {
          await new Promise<void>((resolve) => setImmediate(resolve));
          expect(stream.done).toBe(false);
          stream.abort('client_gone');
        }
        await ran;
        expect((await frames(stream)).map((f) => f.type)).toEqual(['start', 'done']);
        expect((await frames(stream)).at(-1)).toMatchObject({ reason: 'cancelled' });
        expect(stream.signal.aborted).toBe(true);
      },
    );
  });
});
