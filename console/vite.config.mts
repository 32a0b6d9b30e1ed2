// The web console (issue 12): Preact + Vite, built by `npm run build` into dist/console, served by
// src/console at `/`. No CDN, no inline script (the CSP is `script-src 'self'`): Vite's module-preload polyfill is
// off and every asset is a file under /assets.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  // Vite 8 transforms TS/JSX with oxc: Preact's automatic runtime (preact/jsx-runtime).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // No data: URL inlining of small assets: every image is a file the CSP's img-src 'self' allows anyway, but
    // keeping them files keeps the HTML free of anything inline.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
