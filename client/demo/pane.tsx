import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ChatClient, StreamStats, TransportChoice } from '../index.js';
import { useChatStream } from '../react.js';
import { ApprovalCard } from './approval-card.js';
import { formatBytes, formatMs, formatRate, statusLine } from './format.js';
import { FrameInspector } from './frame-inspector.js';
import { forgetStream, loadStream, saveStream, type SavedStream } from './resume-storage.js';
import { Sparkline } from './sparkline.js';

/** What the page asks every pane to do; `seq` grows by one per click. */
export interface PaneCommand {
  seq: number;
  /** The layout it was sent for: panes mounted for a later layout ignore it. */
  epoch: number;
  kind: 'send' | 'cancel';
  prompt: string;
  tools: boolean;
  /** Ask the simulated model to reason before answering. */
  think: boolean;
  simTokens: number | undefined;
  /** The simulated model's pace, tokens per second (`simulate.tokensPerSecond`). */
  pace: number | undefined;
}

/** Reasoning tokens the demo asks the simulated model for when "Think first" is on. */
const THINK_TOKENS = 24;

export interface PaneProps {
  client: ChatClient;
  transport: TransportChoice;
  /** Appended to every data-testid (`-sse`, `-ws`); empty for the single pane. */
  suffix: string;
  /** Key in `window.__tokenwire.panes`, and of the stream kept for a reload. */
  name: string;
  title: string;
  command: PaneCommand;
  epoch: number;
}

/** What the page exposes for tests: per pane, its commit count and figures. */
export interface PaneProbe extends Omit<StreamStats, 'transport' | 'tokenGapsMs' | 'firstTokenMs' | 'tokensPerSecond' | 'elapsedMs'> {
  renders: number;
  streamId: string | null;
  status: string;
  transport: string | null;
  firstTokenMs: number | null;
  tokensPerSecond: number | null;
  elapsedMs: number | null;
  gaps: number;
  textLength: number;
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

const LIVE = new Set(['connecting', 'streaming', 'awaiting_approval', 'reconnecting']);

/** Bytes on the wire, and the share of them that was framing rather than text. */
function framing(stats: StreamStats | null): string {
  if (!stats || stats.bytes === 0) return '–';
  return `${Math.round((100 * (stats.bytes - stats.payloadBytes)) / stats.bytes)}%`;
}

/** One chat view: status, live figures, the growing answer, the approval card and the frames. */
export const Pane = memo(function Pane({ client, transport, suffix, name, title, command, epoch }: PaneProps) {
  const chat = useChatStream(client);
  const { send, cancel, resume } = chat;
  // A pane mounted for this layout runs the command sent with it (a preset that switched layout).
  const handled = useRef(command.epoch === epoch ? command.seq - 1 : command.seq);
  const renders = useRef(0);
  const prompt = useRef('');
  const output = useRef<HTMLDivElement>(null);
  const [pickedUp, setPickedUp] = useState<SavedStream | undefined>();
  const id = (base: string) => `${base}${suffix}`;

  useEffect(() => {
    if (command.seq <= handled.current || command.epoch !== epoch) return;
    handled.current = command.seq;
    if (command.kind === 'cancel') return cancel();
    renders.current = 0;
    prompt.current = command.prompt;
    setPickedUp(undefined);
    const simulate = {
      ...(command.simTokens ? { tokens: command.simTokens } : {}),
      ...(command.think ? { reasoningTokens: THINK_TOKENS } : {}),
      ...(command.pace ? { tokensPerSecond: command.pace } : {}),
    };
    send({
      messages: [{ role: 'user', content: command.prompt }],
      transport,
      ...(command.tools ? { tools: ['get_weather', 'get_local_time'] } : {}),
      ...(Object.keys(simulate).length ? { options: { simulate } } : {}),
    });
  }, [command, epoch, send, cancel, transport]);

  // After a reload: pick the unfinished stream up again, replayed from its start so the whole answer shows.
  useEffect(() => {
    const saved = loadStream(name);
    if (!saved) return;
    prompt.current = saved.prompt;
    setPickedUp(saved);
    resume({ ...saved.ref, lastSeq: -1 });
  }, [name, resume]);

  const live = LIVE.has(chat.status);
  // Keep where the stream is while it runs; forget it once it ended.
  useEffect(() => {
    if (chat.ref && live) saveStream(name, { ref: chat.ref, prompt: prompt.current });
    else if (!live && chat.status !== 'idle') forgetStream(name);
  }, [name, chat.ref, live, chat.status]);

  // Counts this pane's commits: the figure the render-budget and replay tests read.
  useLayoutEffect(() => {
    renders.current++;
    output.current?.setAttribute('data-renders', String(renders.current));
    const { stats } = chat;
    probes()[name] = {
      renders: renders.current,
      streamId: chat.streamId,
      status: chat.status,
      transport: chat.transport,
      tokens: stats?.tokens ?? 0,
      frames: stats?.frames ?? 0,
      bytes: stats?.bytes ?? 0,
      payloadBytes: stats?.payloadBytes ?? 0,
      reconnects: stats?.reconnects ?? 0,
      resumeMs: stats?.resumeMs,
      toolCallMs: stats?.toolCallMs,
      approvalWaitMs: stats?.approvalWaitMs ?? 0,
      approvalRoundTripMs: stats?.approvalRoundTripMs,
      firstTokenMs: stats?.firstTokenMs ?? null,
      tokensPerSecond: stats?.tokensPerSecond ?? null,
      elapsedMs: stats?.elapsedMs ?? null,
      gaps: stats?.tokenGapsMs.length ?? 0,
      textLength: chat.text.length,
    };
  });
  useEffect(() => () => void delete probes()[name], [name]);

  const stats = chat.stats;
  // The latest call that needed a person: pending, or decided with its result.
  const call = chat.pendingApproval ?? chat.toolCalls.findLast((c) => c.approval === 'required');
  const callResult = call && chat.toolResults.find((r) => r.callId === call.callId);
  // The latest call this browser ran for the model (a client tool), with what it sent back.
  const browserCall = chat.toolCalls.findLast((c) => c.runsOn === 'client');
  const browserResult = browserCall && chat.toolResults.find((r) => r.callId === browserCall.callId);

  return (
    <section className="pane" aria-label={title}>
      <header className="pane-head">
        <h2>{title}</h2>
        {chat.transport && <span className={`badge badge-${chat.transport}`}>{chat.transport === 'ws' ? 'WebSocket' : 'SSE'}</span>}
        <button
          type="button"
          className="ghost small"
          data-testid={id('drop')}
          onClick={chat.dropConnection}
          disabled={!live || chat.status === 'reconnecting' || !chat.streamId}
          title="Cut the transport's connection, as a network failure would: the stream resumes from its last seq"
        >
          Drop connection
        </button>
        <button type="button" className="ghost small" data-testid={id('cancel-pane')} onClick={chat.cancel} disabled={!live}>
          Stop
        </button>
      </header>

      <p className={`status status-${chat.status}`} data-testid={id('status')} role="status">
        <span className="dot" aria-hidden="true" />
        {statusLine(chat)}
      </p>
      {pickedUp && (
        <p className="notice info" data-testid={id('picked-up')}>
          Picked up stream {pickedUp.ref.streamId} again after the reload (this tab had it to seq {pickedUp.ref.lastSeq}).
        </p>
      )}
      {chat.fallback && (
        <p className="notice" data-testid={id('fallback')}>
          WebSocket unavailable ({chat.fallback.reason}); using SSE with approvals over HTTP.
        </p>
      )}

      <dl className="metrics">
        <div title="From send to the first token, leaving out the time a tool call waited for you">
          <dt>first token</dt>
          <dd data-testid={id('ttft')}>{formatMs(stats?.firstTokenMs)}</dd>
        </div>
        <div title="From send to the model's tool call">
          <dt>to tool call</dt>
          <dd data-testid={id('tool-call-ms')}>{formatMs(stats?.toolCallMs)}</dd>
        </div>
        <div title="From your decision to the tool's result on the wire">
          <dt>approval round trip</dt>
          <dd data-testid={id('approval-rt')}>{formatMs(stats?.approvalRoundTripMs)}</dd>
        </div>
        <div>
          <dt>tokens/s</dt>
          <dd data-testid={id('rate')}>{formatRate(stats?.tokensPerSecond)}</dd>
        </div>
        <div>
          <dt>tokens · frames</dt>
          <dd data-testid={id('frames')}>
            {stats?.tokens ?? 0} · {stats?.frames ?? 0}
          </dd>
        </div>
        <div title="Bytes received for this stream; framing is the share that was not token text">
          <dt>bytes · framing</dt>
          <dd data-testid={id('bytes')}>
            {formatBytes(stats?.bytes ?? 0)} · <span data-testid={id('framing')}>{framing(stats)}</span>
          </dd>
        </div>
        <div title="Reconnects, and how long the last took from the drop to the first frame after it">
          <dt>reconnects · resume</dt>
          <dd data-testid={id('reconnects')}>
            {stats?.reconnects ?? 0} · <span data-testid={id('resume-ms')}>{formatMs(stats?.resumeMs)}</span>
          </dd>
        </div>
        <div className="gaps" title="Gaps between tokens, the latest 120">
          <dt>token gaps</dt>
          <dd>
            <Sparkline gaps={stats?.tokenGapsMs ?? []} testId={id('gaps')} />
          </dd>
        </div>
      </dl>

      {browserCall && (
        <div className="client-tool" data-testid={id('client-tool')} role="group" aria-label="Browser tool">
          <p className="approval-title">
            Your browser ran <code>{browserCall.name}</code> for the model
          </p>
          <pre className={`args result ${browserResult?.ok === false ? 'failed' : 'ok'}`} data-testid={id('client-tool-result')}>
            {browserResult ? JSON.stringify(browserResult.ok ? browserResult.result : browserResult.error, null, 2) : 'running…'}
          </pre>
        </div>
      )}
      {call && (
        <ApprovalCard
          call={call}
          result={callResult}
          roundTripMs={stats?.approvalRoundTripMs}
          id={id}
          onApprove={() => void chat.approve()}
          onDeny={() => void chat.deny('Denied in the demo')}
        />
      )}

      {chat.reasoning && (
        <details className="thinking" data-testid={id('thinking')}>
          <summary>{chat.text ? 'Thoughts' : 'Thinking…'}</summary>
          <p data-testid={id('thinking-text')}>{chat.reasoning}</p>
        </details>
      )}

      <div
        ref={output}
        className={`output${live ? ' live' : ''}`}
        data-testid={id('output')}
        data-stream-id={chat.streamId ?? ''}
        aria-live="polite"
      >
        {chat.text || <span className="placeholder">{chat.pendingApproval ? 'Waiting for your decision…' : 'The answer appears here.'}</span>}
      </div>

      {chat.status !== 'idle' && <FrameInspector frames={chat.recentFrames()} id={id} />}
    </section>
  );
});
