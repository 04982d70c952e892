/**
 * Native Transpose, GatherV2 and UnsortedSegmentSum against the cpu backend:
 * permutations of rank 2 to 5 (float32 and int32), gather along each axis
 * with 1-D and 2-D indices (the codebook lookup), gather's gradient, segment
 * sums with repeated and unused ids, and the out-of-range index error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { GatherV2, Transpose, UnsortedSegmentSum } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native layout kernels match cpu', () => {
    it('transposes of rank 2 to 5, float32 and int32', async () => {
      await runsNatively([Transpose], () =>
        matchesCpu('transpose', () => {
          const perms: [number[], number[]][] = [
            [[5, 7], [1, 0]], [[3, 4, 5], [2, 0, 1]], [[3, 4, 5], [0, 2, 1]], [[2, 3, 4, 5], [3, 1, 2, 0]],
            [[2, 3, 4, 5], [1, 2, 0, 3]], [[2, 3, 2, 3, 2], [4, 3, 2, 1, 0]], [[1, 6, 1], [2, 1, 0]],
          ];
          return perms.flatMap(([shape, perm], i) => [
            tf.transpose(t(shape, i), perm),
            tf.transpose(tf.cast(tf.mul(t(shape, i + 9), 100), 'int32'), perm),
          ]);
        }),
      );
    });

    it('gather along each axis, 1-D and 2-D indices, float32 and int32, and its gradient', async () => {
      await runsNatively([GatherV2, UnsortedSegmentSum], () =>
        matchesCpu('gather', () => {
          const codebook = t([16, 8], 1);
          const x = t([3, 5, 4], 2);
          const flat = tf.tensor1d([3, 0, 15, 3, 7, 7, 1], 'int32');
          const grid = tf.tensor2d([[1, 2], [4, 0], [2, 2]], [3, 2], 'int32');
          const r = t([7, 8], 3);
          const grad = tf.grad((c: tf.Tensor) => tf.sum(tf.mul(tf.gather(c, flat), r)))(codebook);
          return [
            tf.gather(codebook, flat), tf.gather(x, grid, 1), tf.gather(x, tf.slice(tf.tensor1d([9, 2, 0, 1], 'int32'), [1], [3]), 0),
            tf.gather(x, tf.tensor1d([3, 1], 'int32'), 2), tf.gather(tf.cast(tf.mul(x, 10), 'int32'), grid, 1), grad,
          ];
        }),
      );
    });

    it('unsorted segment sums with repeated and unused ids', async () => {
      await runsNatively([UnsortedSegmentSum], () =>
        matchesCpu('segment sum', () => {
          const ids = tf.tensor1d([2, 0, 2, 5, 2, 0], 'int32');
          // A float32 cast of int32 shares the int32 data on cpu (the codebook's usage counts do this).
          const counts = tf.unsortedSegmentSum(tf.cast(tf.onesLike(ids), 'float32'), ids, 7);
          return [tf.unsortedSegmentSum(t([6, 5], 4), ids, 7), tf.unsortedSegmentSum(t([6], 5), ids, 6), counts];
        }),
      );
    });

    it('rejects an out-of-range gather index with the cpu backend\'s message', async () => {
      assert.equal(await tf.setBackend('native'), true);
      const x = tf.tensor2d([[1, 2], [3, 4]]);
      const bad = tf.tensor1d([0, 2], 'int32');
      assert.throws(() => tf.gather(x, bad), { message: 'GatherV2: the index value 2 is not in [0, 1]' });
      tf.dispose([x, bad]);
    });
  });
}
