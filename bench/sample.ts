/**
 * Times `samplePrior` for a batch of code grids with the default prior
 * (channels 64, 9 gated layers, kernel 3) over 7x7 grids of K = 512 codes,
 * 10 classes (the Fashion-MNIST shape), beside one full forward pass of the
 * same batch, so the ratio shows what raster-order sampling costs: 49
 * positions, each a pass of the horizontal stack over one row, plus one pass
 * of the vertical stack per row over the rows filled so far.
 *
 *   node dist/bench/sample.js [--n 64] [--channels 64] [--backend auto] [--profile]

With --profile it also prints the kernels of one more sampling run by time
(on native: which are the addon's own and which run inherited cpu code).
 *
 * Untrained weights: the cost does not depend on them.
 */
import { parseArgs } from 'node:util';
import { tf } from '../src/engine.js';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { makePriorConfig } from '../src/prior/config.js';
import { PixelCnn } from '../src/prior/pixelcnn.js';
import { samplePrior } from '../src/prior/sample.js';
import { profileKernels, profileTable } from './profile.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '64' },
    channels: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'auto' },
    profile: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const selected = await selectBackend(values.backend as BackendChoice);
const prior = new PixelCnn(makePriorConfig({ codebookSize: 512, height: 7, width: 7, channels: Number(values.channels), numClasses: 10 }), 0);
const codes = tf.zeros([n, 7, 7], 'int32') as tf.Tensor3D;
const labels = tf.zeros([n], 'int32') as tf.Tensor1D;
tf.tidy(() => prior.logits(codes, labels).dataSync()); // warm-up
let started = performance.now();
tf.tidy(() => prior.logits(codes, labels).dataSync());
const forward = (performance.now() - started) / 1000;
started = performance.now();
await samplePrior(prior, { n, classLabel: 3, seed: 0 });
const sampling = (performance.now() - started) / 1000;
console.log(`backend ${selected.name}; ${n} grids of 7x7, channels ${values.channels}`);
console.log(`one forward pass: ${forward.toFixed(3)} s; sampling: ${sampling.toFixed(2)} s = ${(sampling / forward).toFixed(1)} forward passes`);
if (values.profile) {
  console.log(`kernels of one more sampling run (${n} grids):`);
  for (const line of profileTable(await profileKernels(() => samplePrior(prior, { n, classLabel: 3, seed: 0 })))) console.log(line);
}
tf.dispose([codes, labels]);
prior.dispose();
