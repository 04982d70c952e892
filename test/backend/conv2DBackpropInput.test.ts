/**
 * The wasm Conv2DBackpropInput (also conv2dTranspose) against the cpu
 * backend's, on seeded data over CONV_CASES: through the engine and with
 * each method forced; and the phase split worked by hand for the decoder's
 * 4x4 stride-2 layer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Conv2DBackpropInput } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { byColumns, byPhases, phases } from '../../src/backend/wasm/Conv2DBackpropInput.js';
import {
  assertClose, CONV_CASES, convData, convInfo, KERNEL_TOLERANCE, runOnWasm, seededValues, useBackend, valuesOn,
} from './helpers.js';

describe('wasm Conv2DBackpropInput', () => {
  CONV_CASES.forEach((c, n) => {
    it(`matches cpu: ${c.name}`, async () => {
      const data = convData(c, 300 + 10 * n);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
      const viaEngine = () =>
        tf.engine().runKernel(
          Conv2DBackpropInput,
          { dy: tf.tensor(data.dy.values, data.dy.shape), filter: tf.tensor(data.filter.values, data.filter.shape) },
          attrs,
        ) as tf.Tensor;
      const expected = await valuesOn('cpu', viaEngine);
      assertClose(await valuesOn('wasm', viaEngine), expected, KERNEL_TOLERANCE, 'kernel');
      const info = convInfo(c);
      const inputs = [data.dy, data.filter];
      assertClose(await runOnWasm((b, [dy, f]) => byPhases(b, dy!, f!, info), inputs), expected, KERNEL_TOLERANCE, 'byPhases');
      assertClose(await runOnWasm((b, [dy, f]) => byColumns(b, dy!, f!, info), inputs), expected, KERNEL_TOLERANCE, 'byColumns');
    });
  });

  it('runs tf.conv2dTranspose 7 -> 14 -> 28 like cpu (the decoder)', async () => {
    const input = seededValues(4 * 7 * 7 * 32, 11);
    const w1 = seededValues(4 * 4 * 16 * 32, 12);
    const w2 = seededValues(4 * 4 * 1 * 16, 13);
    const decode = () => {
      const h = tf.conv2dTranspose(tf.tensor4d(input, [4, 7, 7, 32]), tf.tensor4d(w1, [4, 4, 16, 32]), [4, 14, 14, 16], 2, 'same');
      return tf.conv2dTranspose(tf.relu(h), tf.tensor4d(w2, [4, 4, 1, 16]), [4, 28, 28, 1], 2, 'same');
    };
    const expected = await valuesOn('cpu', decode);
    assert.deepEqual(expected.shape, [4, 28, 28, 1]);
    assertClose(await valuesOn('wasm', decode), expected, KERNEL_TOLERANCE, 'decoder');
  });

  it('splits a 4x4 stride-2 pad-1 layer (14 <- 7) into two phases per axis', () => {
    // Row y of dx takes filter rows r with y + 1 = 2*q + r: odd y (phase 0)
    // rows 0 and 2 from dy rows (y+1)/2 and (y-1)/2, even y (phase 1) rows 1
    // and 3; worked through the formula in Conv2DBackpropInput.ts.
    assert.deepEqual(phases(4, 2, 1, 14, 7), [
      { taps: 2, phase: 0, first: 1, count: 7, padBefore: 0, padAfter: 1, offset: 0 },
      { taps: 2, phase: 1, first: 0, count: 7, padBefore: 1, padAfter: 0, offset: 0 },
    ]);
    // Stride 1 is one phase: a 'same' 3x3 is a 3x3 convolution padded by 1.
    assert.deepEqual(phases(3, 1, 1, 7, 7), [{ taps: 3, phase: 0, first: 0, count: 7, padBefore: 1, padAfter: 1, offset: 0 }]);
    // Stride above the kernel: phase 2 gets no taps (those rows of dx are 0).
    assert.deepEqual(
      phases(2, 3, 0, 8, 3).map((p) => [p.phase, p.taps, p.first, p.count]),
      [[0, 1, 0, 3], [1, 1, 1, 3], [2, 0, 2, 2]],
    );
  });

  it('rejects a dy of the wrong shape, saying what it found', async () => {
    await useBackend('wasm');
    const dy = tf.zeros([1, 4, 4, 3]);
    const filter = tf.zeros([3, 3, 2, 3]);
    assert.throws(
      () => tf.engine().runKernel(Conv2DBackpropInput, { dy, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 5, 5, 2] }),
      { message: 'Conv2DBackpropInput: dy has shape [1, 4, 4, 3], but the convolution produces [1, 5, 5, 3]' },
    );
    tf.dispose([dy, filter]);
  });
});
