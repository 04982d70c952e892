/**
 * Native reductions against the cpu backend: sum, mean, max, min, prod over
 * no axis, all axes, leading, trailing, middle and non-adjacent axis sets,
 * with and without keepDims; argMin/argMax over each axis; softmax and
 * logSoftmax over the last axis; and the gradients of sum, mean and max.
 */
import { describe, it } from 'node:test';

import { ArgMin, Max, Mean, Softmax, Sum } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

const AXES: (number | number[] | undefined)[] = [undefined, 0, 3, -1, [0, 1, 2], [1, 2], [1, 3], [0, 2], []];

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native reductions match cpu', () => {
    for (const [i, axis] of AXES.entries()) {
      it(`sum, mean, max, min, prod over ${JSON.stringify(axis)}`, async () => {
        await runsNatively([Sum, Mean, Max], () =>
          matchesCpu(`axis ${JSON.stringify(axis)}`, () => {
            const x = t([3, 5, 4, 6], 10 + i);
            const small = tf.add(tf.mul(t([2, 3, 2, 2], 20 + i), 0.5), 1); // prod of numbers near 1
            return [false, true].flatMap((keep) => [
              tf.sum(x, axis, keep), tf.mean(x, axis, keep), tf.max(x, axis, keep), tf.min(x, axis, keep),
              tf.prod(small, axis, keep),
            ]);
          }),
        );
      });
    }

    it('a large sum (the loss of a reference batch), in double like cpu', async () => {
      await matchesCpu('big sum', () => {
        const x = t([128, 28, 28, 1], 5);
        return [tf.sum(tf.square(x)), tf.mean(x), tf.sum(x, [0, 1, 2])];
      });
    });

    it('argMin and argMax over each axis', async () => {
      await runsNatively([ArgMin], () =>
        matchesCpu('arg', () => {
          const x = t([4, 7, 5], 30);
          return [0, 1, 2, -1].flatMap((a) => [tf.argMin(x, a), tf.argMax(x, a)]);
        }),
      );
    });

    it('softmax and logSoftmax over the last axis, with gradients', async () => {
      await runsNatively([Softmax], () =>
        matchesCpu('softmax', () => {
          const x = tf.mul(t([6, 10], 40), 5);
          const r = t([6, 10], 41);
          const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(v), r)))(x);
          return [tf.softmax(x), tf.logSoftmax(x), tf.softmax(t([2, 3, 4], 42)), g];
        }),
      );
    });

    it('gradients of sum, mean and max', async () => {
      await matchesCpu('reduction gradients', () => {
        const x = t([3, 4, 5], 50);
        return tf.grads((v: tf.Tensor) => tf.add(tf.add(tf.sum(tf.sum(v, 1)), tf.mean(v)), tf.sum(tf.max(v, [0, 2]))))([x]);
      });
    });
  });
}
