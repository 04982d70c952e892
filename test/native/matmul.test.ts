/**
 * Native BatchMatMul and _FusedMatMul against the cpu backend: every
 * transpose combination, batch broadcasting (a batch of 1 on either side,
 * rank 2 against rank 3, rank 4), odd sizes, fused bias and ReLU with their
 * gradients, and the VQ-VAE's distance product z · Eᵀ.
 */
import { describe, it } from 'node:test';

import { BatchMatMul, _FusedMatMul } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native matrix products match cpu', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[4, 5, 7], [4, 7, 3], false, false],
      [[1, 5, 7], [4, 7, 3], false, false],
      [[4, 5, 7], [1, 3, 7], false, true],
      [[5, 7], [4, 7, 3], false, false],
      [[2, 3, 5, 7], [2, 3, 3, 7], false, true],
      [[1, 1], [1, 9], false, false],
      [[98, 64], [512, 64], false, true],
    ];
    for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
      // tfjs's matMul gradient cannot reduce a broadcast batch, so only
      // equal batches are differentiated.
      const sameBatch = sa.slice(0, -2).join() === sb.slice(0, -2).join();
      it(`[${sa}] x [${sb}], transposeA ${ta}, transposeB ${tb}${sameBatch ? ', with gradients' : ''}`, async () => {
        await runsNatively([BatchMatMul], () =>
          matchesCpu('matMul', () => {
            const a = t(sa, i * 3);
            const b = t(sb, i * 3 + 1);
            const y = tf.matMul(a, b, ta, tb);
            if (!sameBatch) return y;
            const r = t(y.shape, i * 3 + 2);
            const grads = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, ta, tb), r)))([a, b]);
            return [y, ...grads];
          }),
        );
      });
    }

    it('fused: bias (vector and matrix) and ReLU, with gradients', async () => {
      await runsNatively([_FusedMatMul], () =>
        matchesCpu('fused matMul', () => {
          const a = t([6, 9], 50);
          const b = t([9, 4], 51);
          const bias = t([4], 52);
          const biasMatrix = t([6, 4], 53);
          const f = (p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) =>
            tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: c, activation: 'relu' });
          const grads = tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(f(p, q, c))))([a, b, bias]);
          return [
            f(a, b, bias),
            tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: biasMatrix }),
            tf.fused.matMul({ a: b as tf.Tensor2D, b: a as tf.Tensor2D, transposeA: true, transposeB: true }),
            ...grads,
          ];
        }),
      );
    });
  });
}
