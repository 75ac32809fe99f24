/**
 * The chat client outside a browser: Node 22+ has fetch and a WHATWG WebSocket built in, so
 * nothing is injected. Run a server (`./tokenwire start`), then:
 *   npx tsx examples/node-client.ts "What's the weather in Paris?"
 * TOKENWIRE_URL may carry the prefix tokenwire is mounted under: http://127.0.0.1:3000/tw.
 */
import { createChatClient } from '../client/index.js';

const prompt = process.argv[2] ?? "What's the weather in Paris?";
const client = createChatClient({
  baseUrl: process.env.TOKENWIRE_URL ?? 'http://127.0.0.1:3000',
});

// With a tool offered, `auto` picks the WebSocket: the approval goes back on the same socket.
const stream = client.chat({ messages: [{ role: 'user', content: prompt }], tools: ['get_weather'] });
stream.on('fallback', (f) => console.error(`(falling back to SSE: ${f.reason})`));
stream.onToken((batch) => process.stdout.write(batch.text));
stream.on('tool_call', (call) => {
  console.log(`\n[approving ${call.name}(${JSON.stringify(call.args)})]`);
  void call.approve();
});

const result = await stream.result;
console.log(`\n[${result.reason} over ${result.transport}${result.error ? `: ${result.error.code}` : ''}]`);
client.close();
