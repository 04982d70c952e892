/**
 * The fused convolution layers (src/backend/native/layers.ts, one addon call
 * per pass) against the same layer composed of tfjs ops on the cpu backend:
 * output and the gradients of x, filter and bias, over plain and transposed
 * layers, linear and ReLU, with and without the input ReLU, on many shapes
 * (1 and many channels, strides 1 and 2, 'same', 'valid' and explicit
 * padding, 1x1, 3x3 and 4x4 filters).
 */
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import { convLayer, type ConvLayerOptions, type LayerPad } from '../../src/backend/native/layerOp.js';
import { matchesCpu, nativeOrFail, seededValues } from './helpers.js';

interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: LayerPad;
  /** Transposed: the output shape. */
  to?: [number, number, number, number];
}

const CASES: Case[] = [
  { x: [2, 28, 28, 1], k: 4, co: 8, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [3, 14, 14, 6], k: 4, co: 10, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [2, 7, 7, 12], k: 3, co: 5, stride: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [2, 7, 7, 5], k: 1, co: 12, stride: 1, pad: 'valid' },
  { x: [1, 9, 7, 4], k: 3, co: 6, stride: 2, pad: 'same' },
  { x: [3, 9, 9, 2], k: 3, co: 4, stride: 2, pad: 'valid' },
  { x: [2, 10, 11, 3], k: 4, co: 5, stride: 1, pad: 'valid' },
  // Large enough for the threaded loops (patches, bias sums, masks) to split the work.
  { x: [16, 28, 28, 1], k: 4, co: 16, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [16, 7, 7, 32], k: 1, co: 64, stride: 1, pad: 'valid' },
  // Transposed (the decoder's 4x4 stride 2, to many channels and to one).
  { x: [2, 7, 7, 12], k: 4, co: 6, stride: 2, pad: 'same', to: [2, 14, 14, 6] },
  { x: [2, 14, 14, 6], k: 4, co: 1, stride: 2, pad: 'same', to: [2, 28, 28, 1] },
  { x: [1, 5, 4, 3], k: 3, co: 2, stride: 2, pad: 'valid', to: [1, 11, 9, 2] },
  { x: [3, 6, 6, 4], k: 3, co: 5, stride: 1, pad: 'same', to: [3, 6, 6, 5] },
  // The two-level model's explicit output sizes (ConvTranspose2d outSize): 4 → 7, odd padding at the bottom and right.
  { x: [2, 4, 4, 6], k: 4, co: 5, stride: 2, pad: 'same', to: [2, 7, 7, 5] },
  { x: [1, 4, 3, 3], k: 4, co: 2, stride: 2, pad: 'same', to: [1, 8, 5, 2] },
  { x: [16, 14, 14, 8], k: 4, co: 1, stride: 2, pad: 'same', to: [16, 28, 28, 1] },
];

const VARIANTS: Pick<ConvLayerOptions, 'activation' | 'inputRelu'>[] = [
  { activation: 'linear' },
  { activation: 'relu' },
  { activation: 'linear', inputRelu: true },
  { activation: 'relu', inputRelu: true },
];

function name(c: Case, v: (typeof VARIANTS)[number]): string {
  return `${c.to ? 'transposed ' : ''}x ${c.x.join('x')} k ${c.k} -> ${c.to ? c.to[3] : c.co}, stride ${c.stride}, pad ${JSON.stringify(c.pad)}, ` +
    `${v.inputRelu ? 'relu(x), ' : ''}${v.activation}`;
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('fused native conv layers match the composed layer on cpu', () => {
    CASES.forEach((c, i) => {
      VARIANTS.forEach((v, j) => {
        it(name(c, v), async () => {
          const seed = 1000 * i + 100 * j;
          await matchesCpu(name(c, v), () => layerOutputs(c, v, seed));
        });
      });
    });
  });

  // The bench's switch back to the earlier paths (native/src/conv.cc's
  // legacyPaths: the bias gradient from oneDNN's backward weights, oneDNN's
  // 1x1 gradients) must give the same layers as the default ones.
  describe('fused layers on the earlier oneDNN paths (setConvPaths) match cpu too', () => {
    const picked = [0, 3, 7, 8, 15].map((i) => CASES[i]!);
    for (const mask of [1, 2, 3]) {
      picked.forEach((c, i) => {
        const v = VARIANTS[(i + mask) % VARIANTS.length]!;
        it(`paths ${mask}: ${name(c, v)}`, async () => {
          addon.setConvPaths(mask);
          try {
            await matchesCpu(`paths ${mask} ${name(c, v)}`, () => layerOutputs(c, v, 77 * mask + i));
          } finally {
            addon.setConvPaths(0);
          }
        });
      });
    }
  });
}

function layerOutputs(c: Case, v: (typeof VARIANTS)[number], seed: number): tf.Tensor[] {
  const x = tf.tensor4d(seededValues(c.x.reduce((a, b) => a * b), seed), c.x);
  const filterShape = c.to ? [c.k, c.k, c.co, c.x[3]] : [c.k, c.k, c.x[3], c.co];
  const filter = tf.tensor4d(seededValues(filterShape.reduce((a, b) => a * b), seed + 1), filterShape as never);
  const bias = tf.tensor1d(seededValues(c.co, seed + 2));
  const options: ConvLayerOptions = { stride: c.stride, pad: c.pad, ...v, ...(c.to ? { transposedTo: c.to } : {}) };
  const layer = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => convLayer(a as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, options);
  const y = layer(x, filter, bias);
  const r = tf.tensor(seededValues(y.size, seed + 3), y.shape);
  const grads = tf.grads((a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layer(a, f, b), r)))([x, filter, bias]);
  return [y, ...grads];
}
