import type { UIMessageChunk } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { createUiMessageMapper, encodeUiChunk, UI_MESSAGE_STREAM_TRAILER } from '../../server/views/mappers/ai-sdk-ui-stream.js';
import { createMappedEncoder, type MappedEncoderOptions } from '../../server/views/mapped-encoder.js';
import { openMappedView, type MappedViewRange } from '../../server/views/mapped-view.js';
import type { Hub, Stream } from '../../server/streams/hub.js';
import { runSseView, type SseView } from '../../server/views/sse-view.js';
import { createTestHub } from '../helpers/hub.js';

// The one SSE view (server/views/sse-view.ts) with a protocol's encoder: where a response
// ends at an approval, how a replay goes past one already decided, the trailer on every end.

let hub: Hub;
const views: SseView[] = [];
afterEach(() => {
  for (const view of views.splice(0)) view.close();
  hub?.close();
});

/** A stream whose log holds: start, a token, call A (approved, then its result), a token, call B (pending). */
function streamAtSecondApproval(): Stream {
  hub = createTestHub();
  const stream = hub.create({ model: 'm', transport: 'sse' });
  stream.append({ type: 'token', text: 'Hi' });
  stream.append({ type: 'tool_call', callId: 'call_a', name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
  stream.append({ type: 'tool_result', callId: 'call_a', ok: true, result: { c: 12 } });
  stream.append({ type: 'token', text: 'Then' });
  stream.append({ type: 'tool_call', callId: 'call_b', name: 'get_weather', args: { city: 'Rome' }, approval: 'required' });
  return stream;
}

/** Views `stream` as the AI SDK's chunks into a string; resolves with what was written and whether the response ended. */
async function view(stream: Stream, range: MappedViewRange, options: Pick<MappedEncoderOptions<UIMessageChunk>, 'continueThroughDecided' | 'decidedCallId'>) {
  const mapper = createUiMessageMapper({ messageId: stream.id });
  const start = await openMappedView(stream, mapper, range);
  if (start.status !== 'ok') throw new Error(start.status);
  const out = { text: '', ended: false, paused: [] as string[] };
  const encoder = createMappedEncoder(mapper, { ...options, encode: encodeUiChunk, trailer: UI_MESSAGE_STREAM_TRAILER, onPause: (callId) => out.paused.push(callId) });
  const sink = {
    write: (chunk: string) => ((out.text += chunk), true),
    end: (chunk?: string) => ((out.text += chunk ?? ''), (out.ended = true)),
    bufferedBytes: 0,
  };
  views.push(runSseView(start, sink, { streamId: stream.id, heartbeatMs: 60_000, maxBufferedBytes: 1 << 20, afterSeq: range.resumeAt, encoder }));
  return out;
}

const chunkTypes = (text: string) =>
  text.split('\n\n').flatMap((block) => {
    const data = block.split('\n').find((line) => line.startsWith('data: '))?.slice(6);
    return data === undefined ? [] : [data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as UIMessageChunk).type];
  });

describe('the shared SSE view with a protocol encoder', () => {
  it('a replay goes past the approval its log shows decided and ends at the pending one, with the trailer', async () => {
    const stream = streamAtSecondApproval();
    const out = await view(stream, { base: -1, resumeAt: -1 }, { continueThroughDecided: true });
    expect(chunkTypes(out.text)).toEqual([
      'start', 'start-step', 'text-start', 'text-delta', 'text-end', 'tool-input-available', 'tool-approval-request',
      'tool-output-available', 'finish-step', 'start-step', 'text-start', 'text-delta', 'text-end', 'tool-input-available',
      'tool-approval-request', 'finish-step', 'finish', '[DONE]',
    ]);
    expect(out.text).not.toContain('retry:');
    expect(out.ended).toBe(true);
    expect(out.paused).toEqual(['call_b']);
  });

  it('a first response ends at the first approval it meets, decided later or not', async () => {
    const stream = streamAtSecondApproval();
    const out = await view(stream, { base: -1, resumeAt: -1 }, { continueThroughDecided: false });
    expect(chunkTypes(out.text).slice(-5)).toEqual(['tool-input-available', 'tool-approval-request', 'finish-step', 'finish', '[DONE]']);
    expect(out.text).toContain('"finishReason":"tool-calls"');
    expect(out.paused).toEqual(['call_a']);
  });

  it('the response a decision starts goes on from the decided call, unseen, and ends live at the next pending one', async () => {
    hub = createTestHub();
    const stream = hub.create({ model: 'm', transport: 'sse' });
    stream.append({ type: 'tool_call', callId: 'call_a', name: 'get_weather', args: { city: 'Paris' }, approval: 'required' });
    const out = await view(stream, { base: 0, resumeAt: 1 }, { continueThroughDecided: false, decidedCallId: 'call_a' });
    // Caught up on nothing new: the decided call does not end it.
    expect(chunkTypes(out.text)).toEqual(['start', 'start-step']);
    expect(out.ended).toBe(false);
    stream.append({ type: 'tool_result', callId: 'call_a', ok: true, result: { c: 12 } });
    stream.append({ type: 'tool_call', callId: 'call_b', name: 'get_weather', args: { city: 'Rome' }, approval: 'required' });
    expect(chunkTypes(out.text)).toEqual([
      'start', 'start-step', 'tool-output-available', 'finish-step', 'start-step', 'tool-input-available', 'tool-approval-request', 'finish-step', 'finish', '[DONE]',
    ]);
    // The frame's seq rides on the last chunk it produced.
    expect(out.text).toContain(`id: 3\ndata: {"type":"tool-approval-request","approvalId":"call_b","toolCallId":"call_b"}\n\n`);
    expect(out.ended).toBe(true);
    expect(out.paused).toEqual(['call_b']);
  });
});
