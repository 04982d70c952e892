// tfjs-core's Node entry (a CommonJS bundle) leaves out the gradient
// functions, and its ES-module files cannot be loaded by Node as they stand
// (extension-less imports). This bundles `register_all_gradients` into one ES
// module under dist/. Its copy of the op code shares tfjs's kernel and
// gradient registries and engine, which live on the global object, exactly
// as the `@tensorflow/tfjs` union package does it.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const core = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
await build({
  entryPoints: [join(core, 'dist/register_all_gradients.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  outfile: 'dist/src/vendor/tfjs-gradients.js',
  logLevel: 'warning',
});
