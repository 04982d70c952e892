/**
 * One backend's side of `npm run bench` (bench/bench.ts), in its own process
 * so that its peak resident memory is its own: trains the reference VQ-VAE
 * (src/model/config.ts: hidden 128, residual hidden 32, 2 blocks, K 512, D 64, 28x28x1
 * inputs, Adam lr 2e-4) for a fixed number of steps on random images and
 * prints one JSON line.
 *
 *   node dist/bench/trainWorker.js --backend native|wasm|cpu [--steps 10] [--batch 128] [--profile]
 *
 * JSON: backend, reason, images_per_s, peak_rss_mb, final_loss, steps,
 * batch; with --profile also `profile`, the kernels of one extra step by
 * total time ({kernel, ms, calls}, as tfjs's profiler times them). The
 * first step is a warm-up and is not timed.
 */
import { parseArgs } from 'node:util';

import { tf } from '../src/engine.js';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { makeModelConfig } from '../src/model/config.js';
import { VqVae } from '../src/model/vqvae.js';
import { Adam } from '../src/train/adam.js';
import { profileKernels, type KernelTime } from './profile.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    steps: { type: 'string', default: '10' },
    batch: { type: 'string', default: '128' },
    profile: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const batch = Number(values.batch);

const selected = await selectBackend(values.backend as BackendChoice);
const model = new VqVae(makeModelConfig({}), 0);
const optimizer = new Adam({ learningRate: 2e-4 });
const params = model.trainable();
const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
const x = tf.randomUniform([batch, 28, 28, 1], -0.5, 0.5, 'float32', 1) as tf.Tensor4D;

function step(): number {
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x);
    return tf.add(tf.mean(tf.squaredDifference(out.reconstruction, x)), out.loss) as tf.Scalar;
  }, Object.values(params));
  optimizer.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

step();
const start = performance.now();
let loss = NaN;
for (let i = 0; i < steps; i++) loss = step();
const seconds = (performance.now() - start) / 1000;

let profile: KernelTime[] | undefined;
if (values.profile) profile = await profileKernels(() => step());

console.log(
  JSON.stringify({
    backend: selected.name,
    reason: selected.reason,
    images_per_s: (batch * steps) / seconds,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    final_loss: loss,
    steps,
    batch,
    ...(profile ? { profile } : {}),
  }),
);
