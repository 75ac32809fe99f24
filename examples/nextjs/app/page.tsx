'use client';
// The chat page: tokenwire's React hook over SSE against this app's own catch-all route
// (app/api/tw/[...path]/route.ts). Route handlers cannot upgrade to a WebSocket, so the client
// uses SSE, with approvals over POST and resume over GET.
import { useEffect, useState } from 'react';
import { createChatClient, type ChatClient, type StreamRef } from 'tokenwire/client';
import { useChatStream } from 'tokenwire/react';

/** The path the route serves tokenwire under: `basePath` in lib/tokenwire.ts. */
const TOKENWIRE_PATH = '/api/tw';
const KEPT = 'tokenwire:stream';

export default function Page() {
  // The client needs the page's origin: create it in the browser, never during server rendering.
  const [client, setClient] = useState<ChatClient>();
  useEffect(() => {
    const made = createChatClient({ baseUrl: `${window.location.origin}${TOKENWIRE_PATH}`, transport: 'sse' });
    setClient(made);
    return () => made.close();
  }, []);
  return client ? <Chat client={client} /> : <p>Loading…</p>;
}

function Chat({ client }: { client: ChatClient }) {
  const chat = useChatStream(client, { tools: ['get_weather'] });
  const [prompt, setPrompt] = useState("What's the weather in Paris?");
  const { resume } = chat;
  const live = chat.status === 'connecting' || chat.status === 'streaming' || chat.status === 'awaiting_approval' || chat.status === 'reconnecting';

  // A reload picks an unfinished stream up again: the server keeps it for the resume window.
  useEffect(() => {
    const kept = sessionStorage.getItem(KEPT);
    if (kept) resume({ ...(JSON.parse(kept) as StreamRef), lastSeq: -1 });
  }, [resume]);
  useEffect(() => {
    if (chat.ref && live) sessionStorage.setItem(KEPT, JSON.stringify(chat.ref));
    else if (!live) sessionStorage.removeItem(KEPT);
  }, [chat.ref, live]);

  const call = chat.pendingApproval;
  return (
    <main>
      <h1>tokenwire · Next.js</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          chat.send(prompt);
        }}
      >
        <input aria-label="Prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} style={{ width: '70%' }} />
        <button type="submit">Send</button>
        <button type="button" onClick={chat.cancel} disabled={!live}>
          Stop
        </button>
        <button type="button" onClick={chat.dropConnection} disabled={!live}>
          Drop connection
        </button>
      </form>
      <p>
        {chat.status}
        {chat.stats ? ` · ${chat.stats.tokens} tokens · ${chat.stats.reconnects} reconnects` : ''}
        {chat.error ? ` · ${chat.error.code}: ${chat.error.message}` : ''}
      </p>
      {call && (
        <div role="alertdialog" aria-label="Approve tool call" style={{ border: '1px solid #b45309', padding: '0.5rem 1rem' }}>
          <p>
            Run <code>{call.name}</code> with <code>{JSON.stringify(call.args)}</code>?
          </p>
          <button onClick={() => void chat.approve()}>Approve</button> <button onClick={() => void chat.deny('No thanks')}>Deny</button>
        </div>
      )}
      {chat.reasoning && (
        <details>
          <summary>Thoughts</summary>
          {chat.reasoning}
        </details>
      )}
      <p style={{ whiteSpace: 'pre-wrap' }}>{chat.text}</p>
    </main>
  );
}
