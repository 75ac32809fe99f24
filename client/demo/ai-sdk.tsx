// A chat page built only on the AI SDK (`useChat` from @ai-sdk/react, `DefaultChatTransport`
// from ai) and nothing of tokenwire's client: it shows that an existing AI SDK frontend gets
// tokenwire's resumable streams, gated approvals and client tools by pointing its transport at
// /api/ai-sdk/chat (docs/interop.md). Query: ?chat=<id>&tools=1&tokens=<n>.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, lastAssistantMessageIsCompleteWithToolCalls, type UIMessage } from 'ai';
import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';

// Beside the page, so a prefix the server is mounted under (/tw/ai-sdk.html) holds for the API too.
const API = new URL('api/ai-sdk/chat', location.href).pathname;
const query = new URLSearchParams(location.search);
// The chat id lives in the URL, so a reload resumes the same chat.
if (!query.get('chat')) {
  query.set('chat', crypto.randomUUID());
  history.replaceState(null, '', `?${query}`);
}
const chatId = query.get('chat') as string;
const saved = `ai-sdk-chat:${chatId}`;

function Part({ part, onDecide }: { part: UIMessage['parts'][number]; onDecide: (id: string, approved: boolean) => void }) {
  if (part.type === 'text') return <span data-testid="assistant-text">{part.text}</span>;
  if (!part.type.startsWith('tool-')) return null;
  const tool = part as Extract<UIMessage['parts'][number], { type: `tool-${string}` }>;
  return (
    <div className="tool" data-testid="tool" data-state={tool.state}>
      <code>
        {tool.type.slice(5)}({JSON.stringify(tool.input)})
      </code>{' '}
      <span data-testid="tool-state">{tool.state}</span>
      {tool.state === 'approval-requested' && (
        <>
          {' '}
          <button data-testid="approve" onClick={() => onDecide(tool.approval.id, true)}>
            Approve
          </button>{' '}
          <button data-testid="deny" onClick={() => onDecide(tool.approval.id, false)}>
            Deny
          </button>
        </>
      )}
      {tool.state === 'output-available' && <pre data-testid="tool-output">{JSON.stringify(tool.output)}</pre>}
    </div>
  );
}

function App() {
  const transport = useMemo(
    () =>
      new DefaultChatTransport({
        api: API,
        body: {
          tools: query.get('tools') ? ['get_weather', 'get_local_time'] : [],
          // A window in which a reload can pick the generation up again.
          options: { resumeGraceMs: 30_000, ...(query.get('tokens') ? { simulate: { tokens: Number(query.get('tokens')) } } : {}) },
        },
      }),
    [],
  );
  const initial = useMemo(() => JSON.parse(sessionStorage.getItem(saved) ?? '[]') as UIMessage[], []);
  const { messages, sendMessage, status, stop, error, addToolApprovalResponse, addToolOutput } = useChat({
    id: chatId,
    messages: initial,
    transport,
    resume: true,
    // get_local_time is a client tool (defineClientTool): this page runs it, and the output goes back with the next request.
    onToolCall({ toolCall }) {
      if (toolCall.toolName !== 'get_local_time') return;
      const output = { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, time: new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }) };
      void addToolOutput({ tool: 'get_local_time', toolCallId: toolCall.toolCallId, output });
    },
    sendAutomaticallyWhen: (options) => lastAssistantMessageIsCompleteWithApprovalResponses(options) || lastAssistantMessageIsCompleteWithToolCalls(options),
  });
  const [prompt, setPrompt] = useState('Tell me a story');
  useEffect(() => sessionStorage.setItem(saved, JSON.stringify(messages.filter((m) => m.role === 'user'))), [messages]);

  const stopAndCancel = async () => {
    await stop();
    // stop() only drops the connection, which a resumable stream outlives: cancel it too.
    await fetch(`${API}/${encodeURIComponent(chatId)}/stream`, { method: 'DELETE' });
  };

  return (
    <main className="ai-sdk-page">
      <h1>tokenwire behind the AI SDK's useChat</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void sendMessage({ text: prompt });
        }}
      >
        <input data-testid="prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <button data-testid="send" type="submit" disabled={status === 'streaming' || status === 'submitted'}>
          Send
        </button>
        <button data-testid="stop" type="button" onClick={() => void stopAndCancel()}>
          Stop
        </button>
        <span data-testid="status">{status}</span>
      </form>
      {error && <p data-testid="error">{error.message}</p>}
      <ol data-testid="messages">
        {messages.map((m) => (
          <li key={m.id} data-role={m.role} data-message-id={m.id}>
            <strong>{m.role}</strong>{' '}
            {m.parts.map((part, i) => (
              <Part key={i} part={part} onDecide={(id, approved) => void addToolApprovalResponse({ id, approved })} />
            ))}
          </li>
        ))}
      </ol>
    </main>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(<App />);
