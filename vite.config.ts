import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo page: built from client/demo into dist/demo, which the server serves at `/`.
export default defineConfig({
  root: fileURLToPath(new URL('./client/demo', import.meta.url)),
  base: './',
  // React 17+ JSX runtime without @vitejs/plugin-react (no fast refresh needed for the demo);
  // Vite 8 transforms with Oxc, not esbuild.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      // zod ships a /* @__PURE__ */ comment the bundler cannot place; it only drops the comment.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
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
