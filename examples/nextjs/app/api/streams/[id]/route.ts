// GET resumes a stream over SSE from Last-Event-ID (or ?lastSeq=); DELETE cancels it. Both
// need the stream's token (?token= or Authorization: Bearer), as on the Express server.
import { createStreamHandlers } from '../../../../../../server/adapters/web.js';
import { core } from '../../tokenwire.js';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };
const handlers = createStreamHandlers(core);

export const GET = async (request: Request, { params }: Context) => handlers.GET(request, (await params).id);
export const DELETE = async (request: Request, { params }: Context) => handlers.DELETE(request, (await params).id);
