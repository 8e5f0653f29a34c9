import { defineConfig } from 'vite';

// The build must be byte-for-byte reproducible: `make test` rebuilds dist/ and fails on a
// diff. Vite's content hashes are deterministic; nothing here may depend on time or paths.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.js'],
    // Generous: the tests count frames, not milliseconds, and the CI box is a noisy two-core machine.
    testTimeout: 30_000,
  },
});
