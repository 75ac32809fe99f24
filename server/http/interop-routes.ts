import type { Express } from 'express';
import type { Core } from '../core.js';
import { createInterop } from '../interop/interop.js';

/**
 * The AI SDK's UI message stream on /api/ai-sdk/chat and AG-UI on /api/ag-ui, on the app
 * (server/interop/interop.ts; see docs/interop.md).
 */
export function addInteropRoutes(app: Express, core: Core): void {
  createInterop(core).routes(app);
}
