/**
 * Times training steps of the reference VQ-VAE (DESIGN.md: hidden 128,
 * residual hidden 32, 2 blocks, K 512, D 64, 28x28x1 inputs, Adam) on each
 * backend, in one run, and prints images/s and the ratio to the first.
 *
 *   node dist/bench/trainStep.js [--backends wasm,cpu] [--batch 128] [--steps 5] [--cpu-batch 8]
 *
 * The pure-JS cpu backend needs minutes per step at batch 128, so it runs
 * at --cpu-batch (images/s hardly depends on the batch size there). The first
 * step of each backend is a warm-up and is not timed.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { makeModelConfig } from '../src/model/config.js';
import { VqVae } from '../src/model/vqvae.js';
import { Adam } from '../src/train/adam.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    batch: { type: 'string', default: '128' },
    'cpu-batch': { type: 'string', default: '8' },
    steps: { type: 'string', default: '5' },
  },
});

function timeSteps(batch: number, steps: number): number {
  const model = new VqVae(makeModelConfig({}), 0);
  const optimizer = new Adam({ learningRate: 2e-4 });
  const params = model.trainable();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  const x = tf.randomUniform([batch, 28, 28, 1], -0.5, 0.5, 'float32', 1) as tf.Tensor4D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x);
      return tf.add(tf.mean(tf.squaredDifference(out.reconstruction, x)), out.loss) as tf.Scalar;
    }, Object.values(params));
    optimizer.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - start) / 1000;
  tf.dispose([x]);
  model.dispose();
  optimizer.dispose();
  return (batch * steps) / seconds;
}

const rows: { backend: string; batch: number; rate: number }[] = [];
for (const backend of values.backends!.split(',')) {
  const selected = await selectBackend(backend as BackendChoice);
  const batch = Number(backend === 'cpu' ? values['cpu-batch'] : values.batch);
  const steps = backend === 'cpu' ? 1 : Number(values.steps);
  const rate = timeSteps(batch, steps);
  rows.push({ backend: selected.name, batch, rate });
  console.log(`${selected.name.padEnd(6)} batch ${String(batch).padStart(4)}  ${rate.toFixed(2).padStart(8)} images/s  (${(rate / rows[0]!.rate).toFixed(3)}x ${rows[0]!.backend})`);
}
