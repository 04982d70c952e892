/**
 * Native element-wise kernels against the cpu backend: every binary op over
 * each broadcasting rank pattern a training step uses (equal shapes, a
 * scalar on either side, a channel vector against NHWC, [m,1] with [1,n],
 * interleaved broadcasts in rank 4 and 5), and every unary op, on inputs
 * that include views (contiguous slices) and, where the op allows, NaN.
 */
import { describe, it } from 'node:test';

import { Add, Multiply, Relu, Step } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

function t(shape: number[], seed: number, shift = 0): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed).map((v) => v + shift), shape);
}

const PATTERNS: [number[], number[]][] = [
  [[3, 5, 5, 4], [3, 5, 5, 4]],
  [[3, 5, 5, 4], []],
  [[], [2, 3]],
  [[3, 5, 5, 4], [4]],
  [[4], [2, 3, 3, 4]],
  [[7, 1], [1, 6]],
  [[2, 1, 5, 1], [1, 3, 1, 4]],
  [[2, 3, 1, 4, 1], [3, 5, 1, 2]],
  [[6, 4], [6, 1]],
  [[1, 1, 1, 4], [2, 3, 3, 4]],
];

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native element-wise ops match cpu', () => {
    const binaries: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
      ['squaredDifference', tf.squaredDifference], ['maximum', tf.maximum], ['minimum', tf.minimum],
    ];
    for (const [p, [sa, sb]] of PATTERNS.entries()) {
      it(`binary ops on [${sa}] and [${sb}]`, async () => {
        await runsNatively([Add, Multiply], () =>
          matchesCpu(`[${sa}] op [${sb}]`, () => {
            const a = t(sa, 10 * p);
            const b = t(sb, 10 * p + 1, 2); // in [1, 3): a safe divisor
            return binaries.map(([, op]) => op(a, b));
          }),
        );
      });
    }

    it('binary ops with gradients through broadcasting (bias-like and scalar)', async () => {
      await matchesCpu('broadcast gradients', () => {
        const a = t([2, 3, 3, 4], 60);
        const b = t([4], 61, 2);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.div(tf.sub(tf.add(x, y), tf.mul(x, y)), y), x));
        return tf.grads(f)([a, b]);
      });
    });

    it('unary ops, on a view and with NaN', async () => {
      await runsNatively([Relu, Step], () =>
        matchesCpu('unary', () => {
          const big = t([5, 40], 70);
          const x = tf.slice(big, [1, 0], [3, 40]); // a subarray view on cpu
          const withNaN = tf.concat([tf.reshape(x, [-1]), tf.tensor1d([NaN, 0, -0.5, 0.5])]);
          const positive = tf.add(tf.abs(x), 0.1);
          return [
            tf.relu(withNaN), tf.square(x), tf.sqrt(positive), tf.exp(x), tf.log(positive), tf.tanh(x), tf.sigmoid(x),
            tf.neg(x), tf.abs(x), tf.rsqrt(positive), tf.step(withNaN), tf.step(x, 0.25), tf.reciprocal(positive),
            tf.relu6(tf.mul(x, 8)), tf.log1p(positive),
          ];
        }),
      );
    });

    it('unary gradients (relu, sigmoid, tanh, sqrt, log, exp, square)', async () => {
      await matchesCpu('unary gradients', () => {
        const x = t([4, 9], 80);
        const f = (v: tf.Tensor) => {
          const p = tf.add(tf.abs(v), 0.1);
          return tf.sum(tf.add(tf.add(tf.relu(v), tf.sigmoid(v)), tf.add(tf.add(tf.tanh(v), tf.sqrt(p)), tf.add(tf.log(p), tf.add(tf.exp(v), tf.square(v))))));
        };
        return tf.grad(f)(x);
      });
    });

    it('leaves int32 arithmetic to the cpu kernels, with the same results', async () => {
      await matchesCpu('int32', () => {
        const a = tf.tensor([1, 2, 3, 4], [2, 2], 'int32');
        const b = tf.tensor([5, -6], [2], 'int32');
        return [tf.add(a, b), tf.mul(a, b), tf.relu(b), tf.sub(a, 1)];
      });
    });
  });
}
