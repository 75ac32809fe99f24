// Decides a tool call of an SSE stream: { decision: "approve" | "deny", token, reason? }.
import { createApprovalHandler } from '../../../../../../server/adapters/web.js';
import { core } from '../../tokenwire.js';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const decide = createApprovalHandler(core);

export const POST = async (request: Request, { params }: { params: Promise<{ callId: string }> }) => decide(request, (await params).callId);
