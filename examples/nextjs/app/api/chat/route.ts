// A Next.js App Router route handler that serves tokenwire's SSE chat from the same core as the
// Express server (README.md beside app/ says how to add it to an app).
import { createChatHandler } from '../../../../../server/adapters/web.js';
import { core } from '../tokenwire.js';

// Streams need the Node.js runtime (timers, long responses) and must never be cached.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export const POST = createChatHandler(core);
