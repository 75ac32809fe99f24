import { StrictMode, useCallback, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { createChatClient, type TransportChoice } from '../index.js';
import { Pane, type PaneCommand } from './pane.js';

const EXAMPLES = ["What's the weather in Paris?", 'Tell me a story about a lighthouse.', 'Explain streaming in one paragraph.'];

const TRANSPORTS: { value: TransportChoice; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'sse', label: 'SSE' },
  { value: 'ws', label: 'WebSocket' },
];

/** The demo: one prompt, one transport or both side by side, live figures per transport. */
function App() {
  // One client for the page: the WebSocket panes share its single socket.
  const client = useMemo(() => createChatClient({ baseUrl: window.location.origin }), []);
  const [prompt, setPrompt] = useState(EXAMPLES[1] ?? '');
  const [transport, setTransport] = useState<TransportChoice>('auto');
  const [tools, setTools] = useState(false);
  const [sideBySide, setSideBySide] = useState(false);
  const [simTokens, setSimTokens] = useState('');
  const [think, setThink] = useState(false);
  const [command, setCommand] = useState<PaneCommand>({ seq: 0, kind: 'cancel', prompt: '', tools: false, think: false, simTokens: undefined });

  const send = useCallback(
    (event?: FormEvent) => {
      event?.preventDefault();
      if (!prompt.trim()) return;
      const tokens = Number.parseInt(simTokens, 10);
      setCommand((c) => ({ seq: c.seq + 1, kind: 'send', prompt: prompt.trim(), tools, think, simTokens: tokens > 0 ? tokens : undefined }));
    },
    [prompt, tools, think, simTokens],
  );
  const cancel = useCallback(() => setCommand((c) => ({ ...c, seq: c.seq + 1, kind: 'cancel' })), []);

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">≋</span>
          <div>
            <h1>tokenwire</h1>
            <p>LLM output over Server-Sent Events and WebSocket, batched for the screen.</p>
          </div>
        </div>
      </header>

      <form className="composer card" onSubmit={send}>
        <label className="field">
          <span>Prompt</span>
          <textarea
            data-testid="prompt"
            value={prompt}
            rows={3}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) send();
            }}
          />
        </label>
        <div className="examples">
          {EXAMPLES.map((text) => (
            <button key={text} type="button" className="chip" onClick={() => setPrompt(text)}>
              {text}
            </button>
          ))}
        </div>
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
          <label className="toggle">
            <input type="checkbox" data-testid="tools" checked={tools} onChange={(e) => setTools(e.target.checked)} />
            <span>get_weather tool</span>
          </label>
          <label className="toggle" title="The simulated model reasons first (simulate.reasoningTokens)">
            <input type="checkbox" data-testid="think" checked={think} onChange={(e) => setThink(e.target.checked)} />
            <span>Think first</span>
          </label>
          <label className="toggle">
            <input type="checkbox" data-testid="side-by-side" checked={sideBySide} onChange={(e) => setSideBySide(e.target.checked)} />
            <span>Side by side</span>
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
              title="Length of the simulated model's answer"
            />
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
            <Pane key="sse" client={client} transport="sse" suffix="-sse" name="sse" title="Server-Sent Events" command={command} />
            <Pane key="ws" client={client} transport="ws" suffix="-ws" name="ws" title="WebSocket" command={command} />
          </>
        ) : (
          <Pane key="main" client={client} transport={transport} suffix="" name="main" title="Answer" command={command} />
        )}
      </main>

      <footer className="foot">
        Tokens reach the screen in 50 ms batches. Figures: time to first token, token rate, frames and payload bytes received,
        reconnects.
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
