import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, isTokenwireError, pageWakeups, type Wakeups } from '../../client/index.js';
import { backoffMs, retrySchedule, wait } from '../../client/reconnect.js';
import { waitFor } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startTcpValve, type TcpValve } from '../helpers/tcp-valve.js';
import { ask } from './fixtures.js';

/** Wake-ups a test fires by hand, as the page's `online` event would. */
function manualWakeups(): Wakeups & { fire(): void; readonly listeners: number } {
  const listeners = new Set<() => void>();
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fire: () => [...listeners].forEach((listener) => listener()),
    get listeners() {
      return listeners.size;
    },
  };
}

describe('the retry schedule', () => {
  it('retries at once first, then backs off from 250 ms to at most 5 s, each wait in the upper half of its step', () => {
    expect(backoffMs(0, () => 0.99)).toBe(0);
    for (const random of [0, 0.5, 0.999]) {
      const waits = [1, 2, 3, 4, 5, 6, 7, 12].map((attempt) => backoffMs(attempt, () => random));
      const ceilings = [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000];
      waits.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(ceilings[i]! / 2);
        expect(ms).toBeLessThanOrEqual(ceilings[i]!);
      });
    }
  });

  it('makes its last try at the end of the window, then gives up, and starts a new window after progress', () => {
    const schedule = retrySchedule({ windowMs: 1_000, maxAttempts: undefined, wakeups: manualWakeups(), random: () => 1 });
    // 0 + 250 + 500 = 750 ms of waits fit in 1 s; the next (1 s) is cut to the 250 ms left, a last
    // try at the window's end; then the window is spent.
    expect([schedule.next(), schedule.next(), schedule.next(), schedule.next(), schedule.next()]).toEqual([0, 250, 500, 250, undefined]);
    schedule.progressed();
    expect(schedule.next()).toBe(0);
  });

  it('stops at maxAttempts when one is set, whatever the window', () => {
    const schedule = retrySchedule({ windowMs: 60_000, maxAttempts: 2, wakeups: manualWakeups() });
    expect(schedule.next()).toBe(0);
    expect(schedule.next()).toBeGreaterThan(0);
    expect(schedule.next()).toBeUndefined();
  });

  it('a wake-up ends a wait at once (a wait of a minute would time the test out)', async () => {
    const wakeups = manualWakeups();
    const waiting = wait(60_000, new AbortController().signal, wakeups);
    wakeups.fire();
    await waiting;
  });

  it('wakes on the page events: online, pageshow, and visibilitychange only when the page is visible', () => {
    const page = new EventTarget();
    const document = Object.assign(new EventTarget(), { visibilityState: 'hidden' });
    const wakeups = pageWakeups(page, document);
    let woken = 0;
    const off = wakeups.on(() => woken++);
    page.dispatchEvent(new Event('online'));
    page.dispatchEvent(new Event('pageshow'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(woken).toBe(2);
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(woken).toBe(3);
    off();
    page.dispatchEvent(new Event('online'));
    expect(woken).toBe(3);
  });
});

describe('a client that does not give up early', () => {
  let server: TestServer;
  /** The default heartbeat (15 s): the server does not notice a dead path during a test. */
  let quiet: TestServer;
  let valve: TcpValve;
  // A server heartbeat every 50 ms, so a silent path is told from an idle one quickly.
  beforeAll(async () => {
    [server, quiet] = await Promise.all([startServer({ SIM_TOKENS_PER_SECOND: '200', HEARTBEAT_MS: '50' }), startServer({ SIM_TOKENS_PER_SECOND: '200' })]);
  });
  afterAll(() => Promise.all([server.close(), quiet.close()]));
  afterEach(() => valve?.close());

  const open = async (to: TestServer = server) => {
    valve = await startTcpValve({ host: '127.0.0.1', port: Number(new URL(to.url).port) });
    return `http://127.0.0.1:${valve.port}`;
  };

  it('over ws: close() during a reconnect backoff ends the wait: no listener left, no further connection attempt', async () => {
    const wakeups = manualWakeups();
    const client = createChatClient({ baseUrl: await open(), transport: 'ws', wakeups });
    const stream = client.chat(ask('a long answer', { options: { simulate: { tokens: 300 } } }));
    await waitFor(() => stream.stats().tokens >= 20, 'the first tokens');
    valve.refusing = true;
    valve.cut();
    // Attempts go at 0, then after 125-250 ms and 250-500 ms: the third refusal leaves the client in a backoff.
    await waitFor(() => valve.refused >= 3 && wakeups.listeners > 0, 'a reconnect waiting in its backoff', 10_000);
    client.close();
    expect(wakeups.listeners).toBe(0);
    // close() cancels the open stream, over HTTP while the socket is down: one more connection, expected.
    const closedAt = valve.refused;
    await waitFor(() => valve.refused === closedAt + 1, 'the cancel over HTTP');
    const [accepted, refused] = [valve.accepted, valve.refused];
    wakeups.fire();
    // The scenario: longer than the next backoff (at most 1 s), in which a live loop would try again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect([valve.accepted, valve.refused]).toEqual([accepted, refused]);
    expect(wakeups.listeners).toBe(0);
  });

  for (const transport of ['sse', 'ws'] as const) {
    it(`over ${transport}: keeps re-attaching while the network refuses for longer than three tries, and gets every token once`, async () => {
      const client = createChatClient({ baseUrl: await open(), transport, wakeups: manualWakeups() });
      const stream = client.chat(ask('a long answer', { options: { simulate: { tokens: 300 } } }));
      await waitFor(() => stream.stats().tokens >= 20, 'the first tokens');
      valve.refusing = true;
      valve.cut();
      await waitFor(() => valve.refused >= 5, 'five refused reconnects', 15_000);
      valve.refusing = false;
      const result = await stream.result;
      console.log(`[reconnect] ${transport}: ${valve.refused} refused, ${stream.stats().reconnects} reconnects, then resumed`);
      expect(result.reason).toBe('stop');
      expect(stream.stats().tokens).toBe(300);
      // Tries the network refused are not re-attaches: one, on both transports.
      expect(stream.stats().reconnects).toBe(1);
      client.close();
    });

    it(`over ${transport}: a connection that goes silent (a dead path TCP does not report) is given up and the stream resumed on a new one`, async () => {
      const client = createChatClient({ baseUrl: await open(), transport, heartbeatTimeoutMs: 400, wakeups: manualWakeups() });
      const stream = client.chat(ask('a long answer', { options: { simulate: { tokens: 300 } } }));
      await waitFor(() => stream.stats().tokens >= 20, 'the first tokens');
      const before = valve.accepted;
      valve.freezeOpen();
      const result = await stream.result;
      expect(result.reason).toBe('stop');
      expect(stream.stats().tokens).toBe(300);
      expect(valve.accepted).toBeGreaterThan(before);
      expect(stream.stats().reconnects).toBeGreaterThanOrEqual(1);
      client.close();
    });

    it(`over ${transport}: a drop while an approval is pending says "awaiting_approval" again once re-attached, before anyone decides, and the approval then runs the tool`, async () => {
      const client = createChatClient({ baseUrl: server.url, transport, wakeups: manualWakeups() });
      const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
      const seen: string[] = [];
      stream.on('change', () => {
        if (seen.at(-1) !== stream.status) seen.push(stream.status);
      });
      await new Promise<void>((resolve) => stream.on('tool_call', () => resolve()));
      await waitFor(() => stream.status === 'awaiting_approval', 'awaiting approval');
      stream.dropConnection();
      await waitFor(() => seen.includes('reconnecting') && stream.status === 'awaiting_approval', 're-attached and awaiting approval again');
      expect(seen.slice(seen.indexOf('reconnecting'))).toEqual(['reconnecting', 'awaiting_approval']);
      await stream.pendingApproval!.approve();
      expect((await stream.result).reason).toBe('stop');
      client.close();
    });

    it(`over ${transport}: an approval sent while the network is down rejects with a typed connection_lost, the call stays pending, and approving again later works`, async () => {
      const client = createChatClient({ baseUrl: await open(), transport, wakeups: manualWakeups() });
      const stream = client.chat(ask("What's the weather in Paris?", { tools: ['get_weather'] }));
      await new Promise<void>((resolve) => stream.on('tool_call', () => resolve()));
      const call = stream.pendingApproval!;
      valve.refusing = true;
      valve.cut();
      await waitFor(() => stream.status === 'reconnecting', 'the drop noticed');
      const refused = await call.approve().catch((error: unknown) => error);
      expect(isTokenwireError(refused) && [refused.code, refused.retryable]).toEqual(['connection_lost', true]);
      expect(call.status).toBe('pending');
      valve.refusing = false;
      await waitFor(() => stream.status === 'awaiting_approval', 're-attached');
      await call.approve();
      expect((await stream.result).reason).toBe('stop');
      client.close();
    });

    it(`over ${transport}: a wake-up (the network back) with a silent connection resumes at once`, async () => {
      const wakeups = manualWakeups();
      // No heartbeat watch: only the wake-up can notice the dead path.
      const client = createChatClient({ baseUrl: await open(quiet), transport, heartbeatTimeoutMs: 0, wakeups });
      const stream = client.chat(ask('a long answer', { options: { simulate: { tokens: 300 } } }));
      await waitFor(() => stream.stats().tokens >= 20, 'the first tokens');
      valve.freezeOpen();
      const frozenAt = stream.stats().tokens;
      // The scenario, not a stand-in for an event: the path has been dead for over a second
      // (what a phone back from a tunnel has) when the network comes back.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(stream.stats().tokens).toBe(frozenAt);
      wakeups.fire();
      const result = await stream.result;
      expect(result.reason).toBe('stop');
      expect(stream.stats().tokens).toBe(300);
      client.close();
    });
  }
});
