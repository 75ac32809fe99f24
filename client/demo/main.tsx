import { StrictMode, useCallback, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { createChatClient, type TransportChoice } from '../index.js';
import { DEMO_CLIENT_TOOLS } from './client-tools.js';
import { Pane, type PaneCommand } from './pane.js';
import { PRESETS, type Preset } from './presets.js';

const TRANSPORTS: { value: TransportChoice; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'sse', label: 'SSE' },
  { value: 'ws', label: 'WebSocket' },
];

/** The simulated model's pace per request (`simulate.tokensPerSecond`); '' keeps the server's. */
const PACES = ['', '10', '30', '100', '300', '1000', '5000', '10000'];

/** The demo: a transport lab. One prompt over one transport or both side by side, live figures per pane. */
function App() {
  // One client for the page: the WebSocket panes share its single socket.
  // A patient client: it keeps trying to resume for about 12 s, so a dropped connection shows resume, not an error.
  // The page's folder, not its origin: the server serves the demo beside its routes, under its prefix if it has one.
  // The page runs the server's browser tools (get_local_time) itself.
  const client = useMemo(() => createChatClient({ baseUrl: new URL('.', window.location.href).href, clientTools: DEMO_CLIENT_TOOLS }), []);
  const [prompt, setPrompt] = useState(PRESETS[0]?.prompt ?? '');
  const [transport, setTransport] = useState<TransportChoice>(PRESETS[0]?.transport ?? 'auto');
  const [tools, setTools] = useState(PRESETS[0]?.tools ?? false);
  const [sideBySide, setLayout] = useState(false);
  /** Grows whenever the panes are replaced, so fresh panes run only a command sent for them. */
  const [epoch, setEpoch] = useState(0);
  const setSideBySide = (next: boolean) => {
    if (next === sideBySide) return epoch;
    setLayout(next);
    setEpoch(epoch + 1);
    return epoch + 1;
  };
  const [simTokens, setSimTokens] = useState('');
  const [pace, setPace] = useState('');
  const [think, setThink] = useState(false);
  const [command, setCommand] = useState<PaneCommand>({
    seq: 0,
    epoch: 0,
    kind: 'cancel',
    prompt: '',
    tools: false,
    think: false,
    simTokens: undefined,
    pace: undefined,
  });

  const sendWith = useCallback(
    (text: string, withTools: boolean, forEpoch: number) => {
      if (!text.trim()) return;
      const tokens = Number.parseInt(simTokens, 10);
      const rate = Number.parseInt(pace, 10);
      setCommand((c) => ({
        seq: c.seq + 1,
        epoch: forEpoch,
        kind: 'send',
        prompt: text.trim(),
        tools: withTools,
        think,
        simTokens: tokens > 0 ? tokens : undefined,
        pace: rate > 0 ? rate : undefined,
      }));
    },
    [think, simTokens, pace],
  );
  const send = (event?: FormEvent) => {
    event?.preventDefault();
    sendWith(prompt, tools, epoch);
  };
  const cancel = () => setCommand((c) => ({ ...c, seq: c.seq + 1, epoch, kind: 'cancel' }));
  /** A chip sets everything it shows off, then sends. */
  const choose = (preset: Preset) => {
    setPrompt(preset.prompt);
    setTools(preset.tools);
    setTransport(preset.transport);
    sendWith(preset.prompt, preset.tools, setSideBySide(preset.sideBySide));
  };

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">≋</span>
          <div>
            <h1>tokenwire</h1>
            <p>A transport lab: LLM output over Server-Sent Events and WebSocket, measured live.</p>
          </div>
        </div>
      </header>

      <form className="composer card" onSubmit={send}>
        <div className="examples" role="group" aria-label="Presets">
          {PRESETS.map((preset, i) => (
            <button key={preset.label} type="button" className="chip" data-testid={`preset-${i}`} title={preset.shows} onClick={() => choose(preset)}>
              {preset.label}
            </button>
          ))}
        </div>
        <label className="field">
          <span>Prompt</span>
          <textarea
            data-testid="prompt"
            value={prompt}
            rows={2}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) send();
            }}
          />
        </label>
        <div className="controls">
          <label className="field inline">
            <span>Transport</span>
            <select data-testid="transport" value={transport} onChange={(e) => setTransport(e.target.value as TransportChoice)} disabled={sideBySide}>
              {TRANSPORTS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
          <label className="field inline" title="The simulated model's pace for this request (simulate.tokensPerSecond)">
            <span>Pace</span>
            <select data-testid="pace" value={pace} onChange={(e) => setPace(e.target.value)}>
              {PACES.map((p) => (
                <option key={p} value={p}>
                  {p ? `${p} tokens/s` : 'server default'}
                </option>
              ))}
            </select>
          </label>
          <label className="field inline small">
            <span>Tokens</span>
            <input
              data-testid="sim-tokens"
              type="number"
              min={1}
              placeholder="auto"
              value={simTokens}
              onChange={(e) => setSimTokens(e.target.value)}
              title="Length of the simulated model's answer (empty: the whole answer)"
            />
          </label>
        </div>
        <div className="controls">
          <label className="toggle">
            <input type="checkbox" data-testid="tools" checked={tools} onChange={(e) => setTools(e.target.checked)} />
            <span>Offer tools: get_weather (needs your approval), get_local_time (your browser runs it)</span>
          </label>
          <label className="toggle" title="The simulated model reasons first (simulate.reasoningTokens)">
            <input type="checkbox" data-testid="think" checked={think} onChange={(e) => setThink(e.target.checked)} />
            <span>Think first</span>
          </label>
          <label className="toggle">
            <input type="checkbox" data-testid="side-by-side" checked={sideBySide} onChange={(e) => void setSideBySide(e.target.checked)} />
            <span>SSE and WebSocket side by side</span>
          </label>
          <div className="spacer" />
          <button type="button" className="ghost" data-testid="cancel" onClick={cancel}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="send" disabled={!prompt.trim()}>
            Send
          </button>
        </div>
      </form>

      <main className={sideBySide ? 'panes two' : 'panes'}>
        {sideBySide ? (
          <>
            <Pane key="sse" client={client} transport="sse" suffix="-sse" name="sse" title="Server-Sent Events" command={command} epoch={epoch} />
            <Pane key="ws" client={client} transport="ws" suffix="-ws" name="ws" title="WebSocket" command={command} epoch={epoch} />
          </>
        ) : (
          <Pane key="main" client={client} transport={transport} suffix="" name="main" title="Answer" command={command} epoch={epoch} />
        )}
      </main>

      <footer className="foot">
        Tokens reach the screen in 50 ms batches. First token leaves out the time a tool call waited for you; bytes are what
        crossed the wire, framing is the share that was not text. “Drop connection” cuts the transport: the stream resumes from
        its last seq. A reload picks an unfinished stream up again.
      </footer>
    </div>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
