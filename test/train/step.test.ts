/**
 * The loss terms of one training step (src/train/step.ts) against the
 * formulas computed here in float64 from the model's encoder output, codebook
 * and decoder output: nearest codes, the VQ loss (codebook + beta *
 * commitment, both ||z_e - e||^2 in value; beta * commitment for EMA), the
 * reconstruction term (MSE / var(x), or the mean -log softmax of the true
 * byte), perplexity and codes used; and that a step changes nothing until
 * it is applied.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { applyStep, disposeStep, stepGradients } from '../../src/train/step.js';

const small: Partial<ModelConfig> = { hidden: 8, resHidden: 4, resBlocks: 1, codebookSize: 6, codeDim: 3, imageHeight: 8, imageWidth: 8, beta: 0.3 };

function close(actual: number, expected: number, what: string, tolerance = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** Nearest code of each D-vector, the mean squared distance to it, perplexity and codes used, in float64. */
function quantize(z: Float32Array, codebook: Float32Array, k: number, d: number) {
  const counts = new Float64Array(k);
  let squared = 0;
  const n = z.length / d;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let j = 0; j < k; j++) {
      let distance = 0;
      for (let c = 0; c < d; c++) distance += (z[i * d + c]! - codebook[j * d + c]!) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [j, distance];
    }
    counts[best] += 1;
    squared += bestDistance;
  }
  let entropy = 0;
  for (const c of counts) if (c > 0) entropy -= (c / n) * Math.log(c / n);
  return { mse: squared / z.length, perplexity: Math.exp(entropy), codesUsed: counts.filter((c) => c > 0).length };
}

describe('the loss terms of a training step', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const x = () => tf.randomUniform([3, 8, 8, 1], -0.5, 0.5, 'float32', 11) as tf.Tensor4D;

  for (const quantizer of ['vq', 'ema'] as const) {
    it(`${quantizer}: reconstruction MSE / var(x) + the VQ loss, perplexity and codes used`, () => {
      const c = makeModelConfig({ ...small, quantizer });
      const model = new VqVae(c, 4);
      const images = x();
      const variance = 0.07;
      const z = model.encode(images).dataSync() as Float32Array;
      const codebook = model.state()['quantizer.codebook']!.dataSync() as Float32Array;
      const q = quantize(z, codebook, c.codebookSize, c.codeDim);
      const reconstruction = model.decodeIndices(model.encodeIndices(images)).dataSync();
      const pixels = images.dataSync();
      let squared = 0;
      for (let i = 0; i < pixels.length; i++) squared += (reconstruction[i]! - pixels[i]!) ** 2;
      const recon = squared / pixels.length / variance;
      const vq = quantizer === 'vq' ? (1 + c.beta) * q.mse : c.beta * q.mse;

      const step = stepGradients(model, images, variance);
      close(step.reconstructionLoss.dataSync()[0]!, recon, 'reconstruction');
      close(step.vqLoss.dataSync()[0]!, vq, 'vq loss');
      close(step.loss.dataSync()[0]!, recon + vq, 'loss');
      close(step.perplexity.dataSync()[0]!, q.perplexity, 'perplexity');
      assert.equal(step.codesUsed.dataSync()[0], q.codesUsed);
      // The EMA codebook learns from its averages, not from a gradient.
      assert.equal('quantizer.codebook' in step.grads, quantizer === 'vq');
      assert.deepEqual(Object.keys(step.grads).sort(), Object.keys(model.trainable()).sort());
      disposeStep(step);
      model.dispose();
    });
  }

  it('categorical: the mean -log softmax of each true byte, in nats', () => {
    const c = makeModelConfig({ ...small, likelihood: 'categorical' });
    const model = new VqVae(c, 2);
    const images = tf.tidy(() => tf.sub(tf.div(tf.round(tf.mul(tf.add(x(), 0.5), 255)), 255), 0.5)) as tf.Tensor4D;
    const logits = model.forward(images).logits!.dataSync();
    const pixels = images.dataSync();
    let nats = 0;
    for (let i = 0; i < pixels.length; i++) {
      const row = logits.subarray(i * 256, (i + 1) * 256);
      const max = Math.max(...row);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      const byte = Math.round((pixels[i]! + 0.5) * 255);
      nats += -(row[byte]! - max - Math.log(sum));
    }
    const step = stepGradients(model, images, 0.07);
    close(step.reconstructionLoss.dataSync()[0]!, nats / pixels.length, 'nats per pixel value');
    disposeStep(step);
    model.dispose();
  });

  it('computing a step changes nothing; applying it moves the weights by Adam\'s first step', () => {
    const model = new VqVae(makeModelConfig(small), 1);
    const before = Object.fromEntries(Object.entries(model.state()).map(([n, v]) => [n, Array.from(v.dataSync())]));
    const step = stepGradients(model, x(), 0.07);
    for (const [n, v] of Object.entries(model.state())) assert.deepEqual(Array.from(v.dataSync()), before[n], n);
    const name = 'encoder.conv.weight';
    const g = Array.from(step.grads[name]!.dataSync());
    applyStep(model, new Adam({ learningRate: 0.01 }), step);
    // Adam's first update is -lr * g / (|g| + eps) per entry.
    const after = model.state()[name]!.dataSync();
    g.forEach((gi, i) => close(after[i]!, before[name]![i]! - (0.01 * gi) / (Math.abs(gi) + 1e-8), `${name}[${i}]`, 1e-4));
    disposeStep(step);
    model.dispose();
  });
});
