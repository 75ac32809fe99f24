import { ensureDemoBuilt } from './e2e/browser.js';

/**
 * Once before every test file: build the demo pages when they are missing or stale. Test files
 * run in parallel processes, and two Vite builds into one dist/demo (emptyOutDir) delete each
 * other's files under a page that is loading; on a fresh clone every browser test timed out.
 */
export default async function setup(): Promise<void> {
  await ensureDemoBuilt();
}
