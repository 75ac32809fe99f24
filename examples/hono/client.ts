/**
 * tokenwire's client in Node against examples/hono: logs in, asks for a refund over SSE,
 * approves the tool call (an HTTP POST the client makes) and prints the answer as it streams.
 *
 *   node client.ts ["refund order A-1001 by 25"]     (APP_URL: default http://127.0.0.1:3000)
 */
import { createChatClient } from 'tokenwire/client';

const appUrl = process.env['APP_URL'] ?? 'http://127.0.0.1:3000';
const prompt = process.argv[2] ?? 'Please refund order A-1001 by 25';

const login = await fetch(`${appUrl}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'ada' }) });
const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';

const client = createChatClient({ baseUrl: `${appUrl}/tw`, transport: 'sse', headers: () => ({ cookie }) });
const stream = client.chat({ messages: [{ role: 'user', content: prompt }], tools: ['refund_order'] });
stream.on('tool_call', (call) => {
  console.log(`approving ${call.name} ${JSON.stringify(call.args)}`);
  void call.approve();
});
stream.onToken(({ text }) => process.stdout.write(text));

const result = await stream.result;
console.log(`\n[${result.reason} over ${result.transport}${result.error ? `: ${result.error.code}` : ''}]`);
client.close();
process.exitCode = result.reason === 'stop' ? 0 : 1;
