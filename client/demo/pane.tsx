import { memo, useEffect, useLayoutEffect, useRef } from 'react';
import type { ChatClient, TransportChoice } from '../index.js';
import { useChatStream } from '../react.js';
import { formatBytes, formatMs, formatRate, statusLine } from './format.js';

/** What the page asks every pane to do; `seq` grows by one per click. */
export interface PaneCommand {
  seq: number;
  kind: 'send' | 'cancel';
  prompt: string;
  tools: boolean;
  /** Ask the simulated model to reason before answering. */
  think: boolean;
  simTokens: number | undefined;
}

/** Reasoning tokens the demo asks the simulated model for when "Think first" is on. */
const THINK_TOKENS = 24;

export interface PaneProps {
  client: ChatClient;
  transport: TransportChoice;
  /** Appended to every data-testid (`-sse`, `-ws`); empty for the single pane. */
  suffix: string;
  /** Key in `window.__tokenwire.panes`. */
  name: string;
  title: string;
  command: PaneCommand;
}

/** What the page exposes for tests: per pane, its render count and figures. */
export interface PaneProbe {
  renders: number;
  streamId: string | null;
  status: string;
  transport: string | null;
  tokens: number;
  frames: number;
  bytes: number;
  reconnects: number;
  firstTokenMs: number | null;
  tokensPerSecond: number | null;
  elapsedMs: number | null;
}

declare global {
  interface Window {
    __tokenwire?: { panes: Record<string, PaneProbe> };
  }
}

function probes(): Record<string, PaneProbe> {
  window.__tokenwire ??= { panes: {} };
  return window.__tokenwire.panes;
}

/** One chat view: status, live figures, the growing answer, and the approval panel. */
export const Pane = memo(function Pane({ client, transport, suffix, name, title, command }: PaneProps) {
  const chat = useChatStream(client);
  const { send, cancel } = chat;
  const handled = useRef(command.seq);
  const renders = useRef(0);
  const output = useRef<HTMLDivElement>(null);
  const id = (base: string) => `${base}${suffix}`;

  useEffect(() => {
    if (command.seq <= handled.current) return;
    handled.current = command.seq;
    if (command.kind === 'cancel') return cancel();
    renders.current = 0;
    send({
      messages: [{ role: 'user', content: command.prompt }],
      transport,
      ...(command.tools ? { tools: ['get_weather'] } : {}),
      ...(command.simTokens || command.think
        ? {
            options: {
              simulate: {
                ...(command.simTokens ? { tokens: command.simTokens } : {}),
                ...(command.think ? { reasoningTokens: THINK_TOKENS } : {}),
              },
            },
          }
        : {}),
    });
  }, [command, send, cancel, transport]);

  // Counts this pane's commits: the figure the render-budget test reads.
  useLayoutEffect(() => {
    renders.current++;
    output.current?.setAttribute('data-renders', String(renders.current));
    const stats = chat.stats;
    probes()[name] = {
      renders: renders.current,
      streamId: chat.streamId,
      status: chat.status,
      transport: chat.transport,
      tokens: stats?.tokens ?? 0,
      frames: stats?.frames ?? 0,
      bytes: stats?.bytes ?? 0,
      reconnects: stats?.reconnects ?? 0,
      firstTokenMs: stats?.firstTokenMs ?? null,
      tokensPerSecond: stats?.tokensPerSecond ?? null,
      elapsedMs: stats?.elapsedMs ?? null,
    };
  });
  useEffect(() => () => void delete probes()[name], [name]);

  const busy = chat.status === 'connecting' || chat.status === 'streaming' || chat.status === 'awaiting_approval';
  const stats = chat.stats;
  const call = chat.pendingApproval;

  return (
    <section className="pane" aria-label={title}>
      <header className="pane-head">
        <h2>{title}</h2>
        {chat.transport && <span className={`badge badge-${chat.transport}`}>{chat.transport === 'ws' ? 'WebSocket' : 'SSE'}</span>}
        <button type="button" className="ghost small" data-testid={id('cancel-pane')} onClick={chat.cancel} disabled={!busy}>
          Stop
        </button>
      </header>

      <p className={`status status-${chat.status}`} data-testid={id('status')} role="status">
        <span className="dot" aria-hidden="true" />
        {statusLine(chat)}
      </p>
      {chat.fallback && (
        <p className="notice" data-testid={id('fallback')}>
          WebSocket unavailable ({chat.fallback.reason}); using SSE with approvals over HTTP.
        </p>
      )}

      <dl className="metrics">
        <div><dt>first token</dt><dd data-testid={id('ttft')}>{formatMs(stats?.firstTokenMs)}</dd></div>
        <div><dt>tokens/s</dt><dd data-testid={id('rate')}>{formatRate(stats?.tokensPerSecond)}</dd></div>
        <div><dt>tokens</dt><dd>{stats?.tokens ?? 0}</dd></div>
        <div><dt>frames</dt><dd data-testid={id('frames')}>{stats?.frames ?? 0}</dd></div>
        <div><dt>bytes</dt><dd data-testid={id('bytes')}>{formatBytes(stats?.bytes ?? 0)}</dd></div>
        <div><dt>reconnects</dt><dd data-testid={id('reconnects')}>{stats?.reconnects ?? 0}</dd></div>
      </dl>

      {call && (
        <div className="approval" data-testid={id('approval')} role="alertdialog" aria-label="Tool approval">
          <p className="approval-title">
            The model wants to run <code data-testid={id('tool-name')}>{call.name}</code>
          </p>
          <pre className="args" data-testid={id('tool-args')}>{JSON.stringify(call.args, null, 2)}</pre>
          <div className="row">
            <button type="button" className="primary" data-testid={id('approve')} onClick={() => void chat.approve()} disabled={call.status !== 'pending'}>
              Approve
            </button>
            <button type="button" className="danger" data-testid={id('deny')} onClick={() => void chat.deny('Denied in the demo.')} disabled={call.status !== 'pending'}>
              Deny
            </button>
          </div>
        </div>
      )}

      {chat.reasoning && (
        <details className="thinking" data-testid={id('thinking')}>
          <summary>{chat.text ? 'Thoughts' : 'Thinking…'}</summary>
          <p data-testid={id('thinking-text')}>{chat.reasoning}</p>
        </details>
      )}

      <div
        ref={output}
        className={`output${busy ? ' live' : ''}`}
        data-testid={id('output')}
        data-stream-id={chat.streamId ?? ''}
        aria-live="polite"
      >
        {chat.text || <span className="placeholder">{call ? 'Waiting for your decision…' : 'The answer appears here.'}</span>}
      </div>

      {chat.toolResults.length > 0 && (
        <ul className="tool-results">
          {chat.toolResults.map((r) => (
            <li key={r.callId} className={r.ok ? 'ok' : 'failed'}>
              {chat.toolCalls.find((c) => c.callId === r.callId)?.name ?? 'tool'} · {r.ok ? 'ran' : (r.error?.code ?? 'failed')}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
});
