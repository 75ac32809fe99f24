// A Next.js App Router route handler that serves tokenwire's SSE chat from the same core as the
// Express server. Copy into app/api/chat/route.ts of a Next.js app and fix the import paths
// (here they point into this repository so the example type-checks with it).
import { createChatHandler } from '../../../../../server/adapters/web.js';
import { core } from '../tokenwire.js';

// Streams need the Node.js runtime (timers, long responses) and must never be cached.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export const POST = createChatHandler(core);
