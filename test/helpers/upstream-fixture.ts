import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tick, type Reply } from './fake-openai.js';

export const FIXTURE_DIR = join(import.meta.dirname, '../fixtures/upstream');

/**
 * One recorded upstream behaviour. A fixture file starts with a head of SSE comment lines
 * (`: key: value`) saying which server and behaviour it is and how to serve it; the rest is the
 * body, replayed byte for byte. Head keys: `server`, `behaviour` (both required), `status`
 * (default 200), `header` (repeatable, `name: value`), `split` (`events`: one write per SSE
 * event, the default; `bytes`: one write per byte), `then` (`end`, the default; `stall`: keep
 * the connection open and silent; `reset`: TCP reset).
 */
export interface UpstreamFixture {
  name: string;
  server: string;
  behaviour: string;
  status: number;
  headers: Record<string, string>;
  split: 'events' | 'bytes';
  then: 'end' | 'stall' | 'reset';
  body: Buffer;
}

export function loadFixture(name: string): UpstreamFixture {
  const raw = readFileSync(join(FIXTURE_DIR, name));
  const head: [string, string][] = [];
  let offset = 0;
  for (;;) {
    const eol = raw.indexOf(0x0a, offset);
    const line = raw.subarray(offset, eol === -1 ? raw.length : eol).toString('utf8');
    const match = /^: (\w+): (.*)$/.exec(line);
    if (eol === -1 || !match) break;
    head.push([match[1] as string, (match[2] as string).trim()]);
    offset = eol + 1;
  }
  const one = (key: string) => head.find(([k]) => k === key)?.[1];
  const server = one('server');
  const behaviour = one('behaviour');
  if (!server || !behaviour) throw new Error(`${name}: the head must name the server and the behaviour`);
  const status = Number(one('status') ?? 200);
  const headers: Record<string, string> = status === 200 ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } : {};
  for (const [, value] of head.filter(([k]) => k === 'header')) {
    const colon = value.indexOf(':');
    headers[value.slice(0, colon).trim().toLowerCase()] = value.slice(colon + 1).trim();
  }
  return {
    name,
    server,
    behaviour,
    status,
    headers,
    split: one('split') === 'bytes' ? 'bytes' : 'events',
    then: (one('then') ?? 'end') as UpstreamFixture['then'],
    body: raw.subarray(offset),
  };
}

/** The body's writes: each SSE event (through its blank line) on its own, or each byte. */
function pieces(fixture: UpstreamFixture): Buffer[] {
  const { body } = fixture;
  if (fixture.split === 'bytes') return [...body].map((byte) => Buffer.from([byte]));
  const out: Buffer[] = [];
  let start = 0;
  for (let i = body.indexOf('\n\n'); i !== -1; i = body.indexOf('\n\n', start)) {
    out.push(body.subarray(start, i + 2));
    start = i + 2;
  }
  if (start < body.length) out.push(body.subarray(start));
  return out;
}

/** Serves a fixture as the fake upstream's reply: head, body in its writes (a turn of the loop between), then its end. */
export async function replayFixture(reply: Reply, fixture: UpstreamFixture): Promise<void> {
  reply.head(fixture.status, fixture.headers);
  for (const piece of pieces(fixture)) {
    if (!reply.call.open) return;
    reply.write(piece);
    await tick();
  }
  if (fixture.then === 'reset') reply.reset();
  else if (fixture.then === 'stall') await reply.call.closed;
  else reply.end();
}
