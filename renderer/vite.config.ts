import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The back-office UI: one build, loaded by Electron from disk and by the loopback transport in a browser. */
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    // BUFFMONEY_RENDERER_OUT lets two builds run side by side (developers testing in parallel).
    outDir: process.env.BUFFMONEY_RENDERER_OUT ?? path.resolve(import.meta.dirname, '../dist/renderer'),
    emptyOutDir: true,
    // No inline scripts or styles: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // Loaded from disk (Electron) or loopback, never over the internet; ECharts, the largest part,
    // is its own chunk loaded by the home screen (screens/Home.tsx). The rest is one ~700 KB file.
    chunkSizeWarningLimit: 800,
  },
});
