// Preloaded with `node --import`: any attempt to load ioredis fails loudly, so a process that
// runs to completion with this hook proves it never loaded it (ioredis is an optional peer).
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) throw new Error(`ioredis was loaded (from ${context.parentURL})`);
    return nextResolve(specifier, context);
  },
});
