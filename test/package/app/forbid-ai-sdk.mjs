// Preloaded with `node --import`: any attempt to load the AI SDK (`ai`, `@ai-sdk/*`) fails
// loudly, so a process that runs to completion with this hook proves it never loaded it
// (`@ai-sdk/provider` is an optional peer, for the declarations of tokenwire/ai-sdk only).
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'ai' || specifier.startsWith('ai/') || specifier.startsWith('@ai-sdk/')) throw new Error(`${specifier} was loaded (from ${context.parentURL})`);
    return nextResolve(specifier, context);
  },
});
