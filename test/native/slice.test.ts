/**
 * Native Slice, SplitV, PadV2 and Concat (src/backend/native/slice.ts) against the
 * cpu backend: ranks 1 to 5, float32 and int32, slices at every axis (the
 * contiguous ones that cpu returns as views too), size -1, uneven splits
 * along each axis, padding with zeros and other constants, empty slices,
 * concatenation along every axis (uneven parts, an empty part, int32), and
 * the gradients a PixelCNN's shifted, split and padded stacks take.
 */
import { describe, it } from 'node:test';

import { Concat, PadV2, Slice, SplitV } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

function ints(shape: number[], seed: number): tf.Tensor {
  return tf.cast(tf.mul(t(shape, seed), 1000), 'int32');
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native Slice, SplitV, PadV2 and Concat match cpu', () => {
    it('slices of rank 1 to 5 at every axis, size -1 and empty, float32 and int32', async () => {
      await runsNatively([Slice], () =>
        matchesCpu('slice', () => [
          tf.slice(t([9], 1), [2], [5]),
          tf.slice(t([5, 7], 2), [1, 2], [3, 4]),
          tf.slice(t([5, 7], 3), [2, 0], [2, 7]), // contiguous rows: a view on cpu
          tf.slice(t([4, 5, 6], 4), [1, 1, 1], [-1, 3, -1]),
          tf.slice(t([3, 7, 8, 5], 5), [0, 0, 1, 0], [3, 7, 6, 5]),
          tf.slice(t([3, 7, 8, 5], 6), [1, 2, 0, 3], [2, 4, 8, 1]),
          tf.slice(t([2, 3, 4, 5, 6], 7), [1, 0, 2, 1, 3], [1, 3, 2, 4, 2]),
          tf.slice(t([4, 5], 8), [1, 1], [0, 3]),
          tf.slice(ints([6, 5, 4], 9), [1, 2, 1], [4, 2, 3]),
        ]),
      );
    });

    it('uneven splits along each axis, float32 and int32', async () => {
      await runsNatively([SplitV], () =>
        matchesCpu('split', () => [
          ...tf.split(t([64, 7, 7, 12], 10), 2, 3),
          ...tf.split(t([6, 5, 4], 11), [1, 3, 2], 0),
          ...tf.split(t([6, 5, 4], 12), [2, 3], 1),
          ...tf.split(t([6, 5, 4], 13), [1, 1, 2], -1),
          ...tf.split(ints([4, 6], 14), 3, 1),
        ]),
      );
    });

    it('pads with zeros and other constants on any side, float32 and int32', async () => {
      await runsNatively([PadV2], () =>
        matchesCpu('pad', () => [
          tf.pad(t([3, 4], 15), [[1, 0], [0, 2]]),
          tf.pad(t([2, 7, 7, 5], 16), [[0, 0], [1, 0], [1, 1], [0, 0]]),
          tf.pad(t([2, 7, 7, 5], 17), [[0, 0], [0, 0], [1, 0], [0, 0]], -1.5),
          tf.pad(t([5], 18), [[0, 0]]),
          tf.pad(ints([3, 2, 4], 19), [[2, 1], [0, 3], [1, 1]], 7),
        ]),
      );
    });

    it('concatenates along every axis, uneven and empty parts, float32 and int32, with gradients', async () => {
      await runsNatively([Concat], () =>
        matchesCpu('concat', () => [
          tf.concat([t([2, 3], 30), t([4, 3], 31)], 0),
          tf.concat([t([2, 3], 32), t([2, 1], 33), t([2, 5], 34)], 1),
          tf.concat([t([2, 7, 7, 4], 35), t([2, 7, 7, 6], 36)], 3),
          tf.concat([t([3, 2, 5, 2], 37), t([3, 4, 5, 2], 38)], 1),
          tf.concat([t([3, 0, 2], 39), t([3, 2, 2], 40)], 1),
          tf.concat([ints([2, 3, 4], 41), ints([2, 3, 1], 42)], -1),
          ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b], 2), t([2, 5, 7, 3], 43))))([t([2, 5, 4, 3], 44), t([2, 5, 3, 3], 45)]),
        ]),
      );
    });

    it('gradients through a shifted, split and padded stack', async () => {
      await runsNatively([Slice, SplitV, PadV2], () =>
        matchesCpu('gradients', () => {
          const x = t([4, 7, 7, 6], 20);
          const w = t([4, 7, 7, 3], 21);
          return tf.grads((a: tf.Tensor) => {
            const shifted = tf.slice(tf.pad(a, [[0, 0], [1, 0], [0, 0], [0, 0]]), [0, 0, 0, 0], [4, 7, 7, 6]);
            const [p, q] = tf.split(shifted, 2, 3);
            return tf.sum(tf.mul(tf.mul(tf.tanh(p!), tf.sigmoid(q!)), w));
          })([x]);
        }),
      );
    });
  });
}
