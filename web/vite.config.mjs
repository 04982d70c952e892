// Builds the browser page (web/index.html, web/src/*.ts) into dist/web, where
// `vqvae serve` finds it. The page imports the library's browser entry as
// 'vqvae' (package.json `exports`, condition "browser"), here its source
// ../src/browser.ts; the only browser difference is the gradients import of src/engine.ts, which
// in Node points at an esbuild bundle under dist/ and here at tfjs-core's own
// ES module that registers the same gradients.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const core = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  publicDir: join(here, 'public'),
  build: {
    outDir: join(here, '..', 'dist', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    reportCompressedSize: false,
    assetsInlineLimit: 0,
  },
  resolve: {
    alias: [{ find: /^vqvae$/, replacement: join(here, '..', 'src', 'browser.ts') }],
  },
  plugins: [
    {
      name: 'vqvae-tfjs-gradients',
      enforce: 'pre',
      resolveId(source, importer) {
        if (source === './vendor/tfjs-gradients.js' && importer && importer.endsWith(join('src', 'engine.ts'))) {
          return join(core, 'dist', 'register_all_gradients.js');
        }
        return null;
      },
    },
  ],
});
