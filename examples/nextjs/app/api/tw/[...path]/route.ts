// Every tokenwire route from one catch-all handler: /api/tw/api/chat (the SSE chat),
// /api/tw/api/streams/:id (resume, cancel), /api/tw/api/approvals/:callId (decisions), …
import { tokenwire } from '@/lib/tokenwire';

// Streams need the Node.js runtime (timers, long responses) and must never be cached.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function serve(request: Request): Promise<Response> {
  return tokenwire().fetch(request);
}

export { serve as DELETE, serve as GET, serve as HEAD, serve as POST };
