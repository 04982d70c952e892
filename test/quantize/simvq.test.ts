import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { makeModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { SimVQ } from '../../src/quantize/simvq.js';
import { mulberry32 } from '../../src/random.js';
import { Adam } from '../../src/train/adam.js';
import { applyStep, disposeStep, stepGradients } from '../../src/train/step.js';

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** C W in float64 from C [k, d] and W [d, d]. */
function codesByHand(c: Float32Array, w: Float32Array, k: number, d: number): Float64Array {
  const out = new Float64Array(k * d);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += c[i * d + t]! * w[t * d + j]!;
      out[i * d + j] = s;
    }
  }
  return out;
}

describe('SimVQ', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const k = 12;
  const d = 3;
  const m = 2 * 2 * 5;

  it('snaps each vector to its nearest code of C W, and lookup(indices) equals the quantized output', () => {
    const vq = new SimVQ({ codebookSize: k, codeDim: d, seed: 4 });
    const z = randomArray(m * d, 9, 0.3);
    const out = vq.apply(tf.tensor4d(z, [2, 2, 5, d]));
    const codes = codesByHand(vq.codebook.dataSync() as Float32Array, vq.transform.weight.dataSync() as Float32Array, k, d);
    const indices = Array.from(out.indices.dataSync());
    const quantized = out.quantized.dataSync();
    for (let i = 0; i < m; i++) {
      const dist = (j: number) => [0, 1, 2].reduce((s, c) => s + (z[i * d + c]! - codes[j * d + c]!) ** 2, 0);
      for (let j = 0; j < k; j++) assert.ok(dist(indices[i]!) <= dist(j) + 1e-9, `vector ${i}: code ${j} is nearer than ${indices[i]}`);
      for (let c = 0; c < d; c++) assert.ok(Math.abs(quantized[i * d + c]! - codes[indices[i]! * d + c]!) < 1e-6);
    }
    const looked = vq.lookup(out.indices).dataSync();
    looked.forEach((v, i) => assert.ok(Math.abs(v - quantized[i]!) < 1e-6, `lookup[${i}]`));
    vq.dispose();
  });

  it('computes the loss and the gradient that reaches W as by hand (codebook term through C W)', () => {
    const vq = new SimVQ({ codebookSize: k, codeDim: d, beta: 0.25, seed: 2 });
    const z = randomArray(m * d, 11, 0.3);
    const input = tf.tensor4d(z, [2, 2, 5, d]);
    const c = vq.codebook.dataSync() as Float32Array;
    const codes = codesByHand(c, vq.transform.weight.dataSync() as Float32Array, k, d);
    const indices = Array.from(vq.apply(input).indices.dataSync());
    let sq = 0;
    const dCodes = new Float64Array(k * d); // d loss / d (C W), codebook term only
    for (let i = 0; i < m; i++) {
      for (let t = 0; t < d; t++) {
        const diff = z[i * d + t]! - codes[indices[i]! * d + t]!;
        sq += diff * diff;
        dCodes[indices[i]! * d + t] += (-2 * diff) / (m * d);
      }
    }
    // d loss / d W = C^T d(C W).
    const dW = new Float64Array(d * d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) for (let j = 0; j < k; j++) dW[a * d + b] += c[j * d + a]! * dCodes[j * d + b]!;
    const loss = vq.apply(input).loss.dataSync()[0]!;
    assert.ok(Math.abs(loss - (1.25 * sq) / (m * d)) < 1e-6, `loss ${loss}`);
    const { grads } = tf.variableGrads(() => vq.apply(input).loss, [vq.transform.weight]);
    Array.from(Object.values(grads)[0]!.dataSync()).forEach((g, i) => assert.ok(Math.abs(g - dW[i]!) < 1e-6, `dW[${i}] ${g} vs ${dW[i]}`));
    vq.dispose();
  });

  it('in a training step of the model, changes W and leaves the frozen codebook C exactly as it was', () => {
    const model = new VqVae(makeModelConfig({ hidden: 8, resHidden: 4, resBlocks: 1, codebookSize: 16, codeDim: 4, quantizer: 'simvq' }), 1);
    const state = model.state();
    assert.ok('quantizer.frozen_codebook' in state && 'quantizer.code_transform.weight' in state);
    assert.ok(!('quantizer.frozen_codebook' in model.trainable()), 'C is not trainable');
    assert.ok('quantizer.code_transform.weight' in model.trainable(), 'W is trainable');
    const before = Object.fromEntries(Object.entries(state).map(([n, v]) => [n, Array.from(v.dataSync())]));
    const x = tf.tensor4d(randomArray(4 * 28 * 28, 3, 0.5), [4, 28, 28, 1]);
    const step = stepGradients(model, x, 0.1);
    applyStep(model, new Adam({ learningRate: 1e-2 }), step);
    disposeStep(step);
    assert.deepEqual(Array.from(state['quantizer.frozen_codebook']!.dataSync()), before['quantizer.frozen_codebook']);
    const w = Array.from(state['quantizer.code_transform.weight']!.dataSync());
    assert.ok(w.some((v, i) => v !== before['quantizer.code_transform.weight']![i]), 'W changed');
    model.dispose();
  });
});
