/**
 * Native convolutions against the cpu backend: Conv2D, FusedConv2D (bias,
 * ReLU), and through autograd Conv2DBackpropInput and Conv2DBackpropFilter,
 * plus tf.conv2dTranspose directly. Strides 1 and 2 (and mixed), kernels 1, 3
 * and 4, 'same', 'valid', numeric and explicit padding (asymmetric), ceil
 * rounding, dilation 2, batch 1, odd and non-square sizes, 1 and many
 * channels, and an input that is a sliced view of a larger tensor.
 */
import { describe, it } from 'node:test';

import { Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { matchesCpu, nativeOrFail, runsNatively, seededValues } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
  rounding?: 'ceil' | 'floor' | 'round';
}

const CASES: Case[] = [
  { x: [2, 8, 8, 3], k: [3, 3], co: 5, strides: 1, pad: 'same' },
  { x: [1, 9, 7, 4], k: [3, 3], co: 6, strides: 2, pad: 'same' },
  { x: [3, 9, 9, 2], k: [3, 3], co: 4, strides: 2, pad: 'valid' },
  { x: [2, 28, 28, 1], k: [4, 4], co: 8, strides: 2, pad: 1 },
  { x: [2, 14, 14, 8], k: [4, 4], co: 16, strides: 2, pad: 'same' },
  { x: [1, 7, 7, 16], k: [1, 1], co: 8, strides: 1, pad: 'valid' },
  { x: [2, 7, 5, 6], k: [1, 1], co: 3, strides: 2, pad: 'same' },
  { x: [2, 10, 11, 3], k: [4, 4], co: 5, strides: 1, pad: 'valid' },
  { x: [1, 9, 10, 3], k: [3, 4], co: 2, strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 10, 9, 3], k: [3, 3], co: 4, strides: 2, pad: 1, rounding: 'ceil' },
  { x: [1, 11, 11, 5], k: [4, 4], co: 7, strides: 2, pad: 'valid' },
];

function name(c: Case): string {
  return `x ${c.x.join('x')} k ${c.k.join('x')} -> ${c.co}, strides ${String(c.strides)}, pad ${JSON.stringify(c.pad)}` +
    (c.dilations ? `, dilation ${c.dilations}` : '') + (c.rounding ? `, ${c.rounding}` : '');
}

function inputs(c: Case, seed: number) {
  const x = tf.tensor4d(seededValues(c.x.reduce((a, b) => a * b), seed), c.x);
  const filter = tf.tensor4d(seededValues(c.k[0] * c.k[1] * c.x[3] * c.co, seed + 1), [c.k[0], c.k[1], c.x[3], c.co]);
  const bias = tf.tensor1d(seededValues(c.co, seed + 2));
  return { x, filter, bias };
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native convolutions match cpu', () => {
    for (const [i, c] of CASES.entries()) {
      it(`forward and both gradients: ${name(c)}`, async () => {
        // tfjs's conv2d gradient drops dimRoundingMode, so with 'ceil' its dy
        // no longer fits the backward geometry: those run on cpu (as they would).
        const kernels = c.rounding ? [Conv2D] : [Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter];
        await runsNatively(kernels, () =>
          matchesCpu(name(c), () => {
            const { x, filter } = inputs(c, 10 * i);
            const conv = (a: tf.Tensor4D, f: tf.Tensor4D) =>
              tf.conv2d(a, f, c.strides, c.pad, 'NHWC', c.dilations ?? 1, c.rounding);
            const y = conv(x, filter);
            const r = tf.tensor(seededValues(y.size, 10 * i + 5), y.shape);
            const [dx, df] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, f as tf.Tensor4D), r)))([x, filter]);
            return [y, dx!, df!];
          }),
        );
      });
    }

    for (const [i, c] of CASES.slice(0, 6).entries()) {
      it(`fused bias + ReLU with gradients: ${name(c)}`, async () => {
        await runsNatively([FusedConv2D], () =>
          matchesCpu(`fused ${name(c)}`, () => {
            const { x, filter, bias } = inputs(c, 100 + 10 * i);
            const conv = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
              tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.strides, pad: c.pad, bias: b, activation: 'relu' });
            const y = conv(x, filter, bias);
            const r = tf.tensor(seededValues(y.size, 100 + 10 * i + 5), y.shape);
            const grads = tf.grads((a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, f, b), r)))([x, filter, bias]);
            return [y, ...grads];
          }),
        );
      });
    }

    it('fused bias without activation, and a dilated convolution', async () => {
      await runsNatively([FusedConv2D, Conv2D], () =>
        matchesCpu('fused linear / dilated', () => {
          const { x, filter, bias } = inputs({ x: [2, 9, 9, 3], k: [3, 3], co: 4, strides: 1, pad: 'same' }, 7);
          return [
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'valid', bias }),
            tf.conv2d(x, filter, 1, 'same', 'NHWC', 2),
            tf.conv2d(x, filter, 1, 'valid', 'NHWC', [2, 1]),
          ];
        }),
      );
    });

    it('transposed convolutions (the decoder\'s 4x4 stride 2, and odd shapes)', async () => {
      await runsNatively([Conv2DBackpropInput], () =>
        matchesCpu('conv2dTranspose', () => {
          const a = tf.tensor4d(seededValues(2 * 7 * 7 * 8, 21), [2, 7, 7, 8]);
          const fa = tf.tensor4d(seededValues(4 * 4 * 4 * 8, 22), [4, 4, 4, 8]);
          const b = tf.tensor4d(seededValues(1 * 5 * 4 * 3, 23), [1, 5, 4, 3]);
          const fb = tf.tensor4d(seededValues(3 * 3 * 2 * 3, 24), [3, 3, 2, 3]);
          return [
            tf.conv2dTranspose(a, fa, [2, 14, 14, 4], 2, 1),
            tf.conv2dTranspose(a, fa, [2, 14, 14, 4], 2, 'same'),
            tf.conv2dTranspose(b, fb, [1, 10, 8, 2], 2, 'same'),
            tf.conv2dTranspose(b, fb, [1, 11, 9, 2], 2, 'valid'),
          ];
        }),
      );
    });

    it('reads an input that is a view into a larger tensor (a contiguous slice)', async () => {
      await runsNatively([Conv2D], () =>
        matchesCpu('sliced input', () => {
          const big = tf.tensor4d(seededValues(5 * 6 * 6 * 3, 31), [5, 6, 6, 3]);
          const x = tf.slice(big, [2, 0, 0, 0], [2, 6, 6, 3]); // on cpu: a subarray of big's values
          const filter = tf.tensor4d(seededValues(3 * 3 * 3 * 4, 32), [3, 3, 3, 4]);
          return tf.conv2d(x, filter, 1, 'same');
        }),
      );
    });
  });
}
