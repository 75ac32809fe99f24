import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeServerFrame } from '../../shared/frame-codec.js';
import type { ServerFrame } from '../../shared/protocol.js';
import { createSseParser } from '../../shared/sse.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getSse } from '../helpers/sse-client.js';
import { waitFor } from '../helpers/events.js';
import { loggedFrames } from '../helpers/hub.js';
import { textOf } from '../helpers/ws-client.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a slow SSE reader', () => {
  it('is dropped with slow_consumer naming the last seq written; the model goes on, and a resume from that seq loses nothing', async () => {
    server = await startServer({
      SIM_TOKENS_PER_SECOND: '100000',
      MAX_BUFFERED_BYTES: '65536',
      STREAM_MAX_FRAMES: '1000000',
      STREAM_MAX_BYTES: String(256 << 20),
      STREAMS_MAX_RETAINED_BYTES: String(512 << 20),
    });
    // No resume window asked for: only tokenwire's drop policy keeps the stream alive.
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'flood' }], options: { simulate: { tokens: 60_000 } } });
    let streamId = '';
    const frames: ServerFrame[] = [];
    const parser = createSseParser({
      onEvent: (event) => {
        const decoded = decodeServerFrame(event.data);
        if (decoded.ok) frames.push(decoded.value);
      },
    });
    const ended = new Promise<void>((resolve, reject) => {
      const req = request(`${server!.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        streamId = String(res.headers['x-tokenwire-stream-id']);
        res.pause(); // stop reading: the kernel buffers fill, then the server's
        res.on('data', (chunk: Buffer) => parser.feed(new Uint8Array(chunk)));
        res.on('end', resolve);
        res.on('error', reject);
        void waitFor(() => server!.core.hub.get(streamId)?.done, 'the stream to end', 30_000).then(() => res.resume(), reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    await ended;
    const stream = server.core.hub.get(streamId)!;
    const all = await loggedFrames(stream);
    // The dropped view did not stop the model: it ran to its end.
    expect(all.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
    const error = frames.at(-1)!;
    expect(error).toMatchObject({ type: 'error', code: 'slow_consumer', retryable: true });
    // The error names the last frame the reader actually got, not the last one queued for it.
    const delivered = frames.slice(0, -1);
    expect(error.seq).toBe(delivered.at(-1)!.seq);
    expect(error.seq).toBeLessThan(stream.lastSeq);

    const token = (all[0] as Extract<ServerFrame, { type: 'start' }>).approvalToken!;
    const rest = await (await getSse(`${server.url}/api/streams/${streamId}?token=${token}`, { 'last-event-id': String(error.seq) })).ended;
    expect(rest[0]!.seq).toBe(error.seq + 1);
    expect(textOf([...delivered, ...rest])).toBe(textOf(all));
  }, 40_000);
});
