import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/events.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a slow SSE reader', () => {
  it('is dropped with slow_consumer once its queue passes the bound, and the model stops', async () => {
    server = await startServer({ SIM_TOKENS_PER_SECOND: '100000', MAX_BUFFERED_BYTES: '65536' });
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'flood' }], options: { simulate: { tokens: 1_000_000 } } });
    let text = '';
    let streamId = '';
    const ended = new Promise<void>((resolve, reject) => {
      const req = request(`${server!.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        streamId = String(res.headers['x-tokenwire-stream-id']);
        res.pause(); // stop reading: the kernel buffers fill, then the server's
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', resolve);
        res.on('error', reject);
        void waitFor(() => server!.core.hub.get(streamId)?.done, 'the stream to end', 15_000).then(() => res.resume(), reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    await ended;
    const stream = server.core.hub.get(streamId);
    // The log keeps the newest frames only (STREAM_MAX_FRAMES): read its tail.
    const last = stream?.readFrom(stream.lastSeq - 1)?.at(-1)?.frame;
    // The model was stopped long before its million tokens: the dropped view was the last one.
    expect(last).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(stream!.lastSeq).toBeLessThan(1_000_000);
    expect(text).toMatch(/event: error\ndata: \{"type":"error".*"code":"slow_consumer".*"retryable":true\}\n\n$/);
  });
});
