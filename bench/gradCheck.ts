/**
 * Compares the gradients of every parameter of the reference VQ-VAE
 * (32x32x3 inputs, hidden 128, K 512, D 64) between the wasm backend (with
 * this package's training kernels) and tfjs's pure-JS cpu backend, on a few
 * CIFAR-10 test images. Too slow for the test suite (the cpu backend needs
 * about a minute); the kernel tests check the same kernels on smaller shapes.
 *
 *   node dist/bench/gradCheck.js [--data folder:../shared/datasets/cifar10-jpg] [--batch 4]
 *
 * Prints the loss on both, and the largest difference of each gradient
 * relative to its largest value; exits 1 if any exceeds 1e-4.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { loadDataset } from '../src/data/load.js';
import { makeModelConfig } from '../src/model/config.js';
import { VqVae } from '../src/model/vqvae.js';
import { pixelVariance, sliceImages } from '../src/train/batches.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'folder:../shared/datasets/cifar10-jpg' },
    batch: { type: 'string', default: '4' },
  },
});
const data = await loadDataset(values.data!, { split: 'test', limit: Number(values.batch) });
const variance = pixelVariance(data);

async function gradients(backend: BackendChoice): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  await selectBackend(backend);
  const model = new VqVae(makeModelConfig({ inputChannels: data.channels, imageHeight: data.height, imageWidth: data.width }), 0);
  const x = sliceImages(data, 0, data.count);
  const params = model.trainable();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x);
    return tf.add(tf.div(tf.mean(tf.squaredDifference(out.reconstruction, x)), variance), out.loss) as tf.Scalar;
  }, Object.values(params));
  const result: Record<string, Float32Array> = {};
  for (const [key, g] of Object.entries(grads)) result[names.get(key)!] = Float32Array.from(g.dataSync());
  return { loss: value.dataSync()[0]!, grads: result };
}

const wasm = await gradients('wasm');
const cpu = await gradients('cpu');
console.log(`loss: wasm ${wasm.loss}, cpu ${cpu.loss}`);
let worst = 0;
for (const [name, expected] of Object.entries(cpu.grads)) {
  const actual = wasm.grads[name]!;
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  const relative = scale > 0 ? difference / scale : difference;
  worst = Math.max(worst, relative);
  console.log(`${name.padEnd(32)} ${relative.toExponential(2)}`);
}
console.log(`largest relative difference: ${worst.toExponential(2)}`);
process.exitCode = worst <= 1e-4 ? 0 : 1;
