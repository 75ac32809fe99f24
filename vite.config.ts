import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo pages: built from client/demo into dist/demo, which the server serves at `/`
// (and `/ai-sdk.html`).
export default defineConfig({
  root: fileURLToPath(new URL('./client/demo', import.meta.url)),
  base: './',
  // React 17+ JSX runtime without @vitejs/plugin-react (no fast refresh needed for the demo);
  // Vite 8 transforms with Oxc, not esbuild. Never the dev transform (jsxDEV): a build started
  // under vitest (NODE_ENV=test) would otherwise call jsxDEV on production React.
  oxc: { jsx: { runtime: 'automatic', development: false } },
  build: {
    outDir: fileURLToPath(new URL('./dist/demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      // The demo, and a page built only on the AI SDK's useChat.
      input: {
        main: fileURLToPath(new URL('./client/demo/index.html', import.meta.url)),
        aiSdk: fileURLToPath(new URL('./client/demo/ai-sdk.html', import.meta.url)),
      },
      // zod ships a /* @__PURE__ */ comment the bundler cannot place; it only drops the comment.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
        // @ai-sdk/react's swr marks modules 'use client', which only matters to React Server Components.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.id?.includes('node_modules')) return;
        warn(warning);
      },
    },
  },
  server: {
    // `vite` dev server: API and WebSocket go to a tokenwire server on :3000.
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/ws': { target: 'ws://127.0.0.1:3000', ws: true },
    },
  },
});
