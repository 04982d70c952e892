import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { VectorQuantizerEMA } from '../../src/quantize/vectorQuantizerEma.js';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('VectorQuantizerEMA', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  // K = 3 codes in D = 2; four vectors: two take code 0, one takes code 1, none code 2.
  const codebook = [0, 0, 4, 4, -4, 4];
  const z = [0.5, 0, -0.5, 1, 4, 3, 0, -1];
  const make = () =>
    new VectorQuantizerEMA({
      codebookSize: 3,
      codeDim: 2,
      decay: 0.9,
      epsilon: 0.01,
      beta: 0.25,
      initialCodebook: tf.tensor2d(codebook, [3, 2]),
    });

  it('updates counts, sums and codebook by the formula, worked by hand', () => {
    const vq = make();
    const input = tf.tensor4d(z, [1, 2, 2, 2]);
    const out = vq.apply(input);
    assert.deepEqual(Array.from(out.indices.dataSync()), [0, 0, 1, 0]);
    vq.update(input, out.indices);
    // n = [3, 1, 0]; s_0 = (0.5,0)+(-0.5,1)+(0,-1) = (0,0); s_1 = (4,3); s_2 = (0,0).
    // N = 0.9*1 + 0.1*n = [1.2, 1.0, 0.9]; m = 0.9*e + 0.1*s.
    const count = [1.2, 1.0, 0.9];
    const sum = [0, 0, 0.9 * 4 + 0.4, 0.9 * 4 + 0.3, 0.9 * -4, 0.9 * 4];
    const n = 1.2 + 1.0 + 0.9;
    const smoothed = count.map((c) => ((c + 0.01) / (n + 3 * 0.01)) * n);
    const expectedCodebook = sum.map((v, i) => v / smoothed[Math.floor(i / 2)]!);
    close(vq.emaCount.dataSync(), count, 1e-6, 'count');
    close(vq.emaSum.dataSync(), sum, 1e-6, 'sum');
    close(vq.codebook.dataSync(), expectedCodebook, 1e-5, 'codebook');
  });

  it('has the commitment loss alone as its loss, with gradient only to the encoder output', () => {
    const vq = make();
    const input = tf.tensor4d(z, [1, 2, 2, 2]);
    const out = vq.apply(input);
    const e = [0, 0, 0, 0, 4, 4, 0, 0];
    const commitment = z.reduce((s, v, i) => s + (v - e[i]!) ** 2, 0) / z.length;
    assert.ok(Math.abs(out.loss.dataSync()[0]! - 0.25 * commitment) < 1e-6);
    const [g] = tf.grads((x: tf.Tensor) => vq.apply(x as tf.Tensor4D).loss)([input]);
    close(g!.dataSync(), z.map((v, i) => (0.25 * 2 * (v - e[i]!)) / z.length), 1e-7, 'dz');
    assert.deepEqual(vq.trainable(), {});
  });

  it('changes no state when only applied (as in evaluation)', () => {
    const vq = make();
    const before = [vq.codebook, vq.emaCount, vq.emaSum].map((v) => Array.from(v.dataSync()));
    for (let i = 0; i < 3; i++) vq.apply(tf.tensor4d(z, [1, 2, 2, 2]));
    const after = [vq.codebook, vq.emaCount, vq.emaSum].map((v) => Array.from(v.dataSync()));
    assert.deepEqual(after, before);
  });

  it('names its state for checkpoints', () => {
    assert.deepEqual(Object.keys(make().state()), ['quantizer.codebook', 'quantizer.ema_count', 'quantizer.ema_sum']);
  });
});
