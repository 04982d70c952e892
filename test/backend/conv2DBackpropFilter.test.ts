/**
 * The wasm Conv2DBackpropFilter against the cpu backend, on seeded data over
 * CONV_CASES: through the engine (whichever method the kernel picks), and
 * each method forced, so both are checked on every geometry.
 *
 * The cpu backend's own Conv2DBackpropFilter runs at about 7 MFLOP/s (14 s
 * for one reference layer at batch 8), so it is the reference up to
 * CPU_KERNEL_MAX_FLOPS; above that the reference is cpu's forward Conv2D
 * through the identity dw = conv(x as [ci, h, w, b], dy as an [oh, ow, b, co]
 * filter dilated by the stride). That identity is checked against cpu's
 * kernel on every small case and on one reference layer at batch 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { byConvolution, byIm2col } from '../../src/backend/wasm/Conv2DBackpropFilter.js';
import {
  assertClose, CONV_CASES, convData, convInfo, KERNEL_TOLERANCE, runOnWasm, useBackend, valuesOn,
} from './helpers.js';
import type { ConvCase } from './helpers.js';

const CPU_KERNEL_MAX_FLOPS = 5e6;

type Data = ReturnType<typeof convData>;

function viaKernel(c: ConvCase, data: Data): () => tf.Tensor {
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
  return () =>
    tf.engine().runKernel(
      Conv2DBackpropFilter,
      { x: tf.tensor(data.x.values, data.x.shape), dy: tf.tensor(data.dy.values, data.dy.shape) },
      attrs,
    ) as tf.Tensor;
}

/** dw through a forward convolution (see the file comment), on any backend. */
function viaForwardConv(c: ConvCase, data: Data): () => tf.Tensor {
  const info = convInfo(c);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);
  return () => {
    const xT = tf.transpose(tf.tensor4d(data.x.values, c.x), [3, 1, 2, 0]);
    const dyT = tf.transpose(tf.tensor4d(data.dy.values, convInfo(c).outShape), [1, 2, 0, 3]);
    const prod = tf.conv2d(xT, dyT, 1, [[0, 0], [top, bottom], [left, right], [0, 0]], 'NHWC', [sh, sw]);
    return tf.transpose(tf.slice(prod, [0, 0, 0, 0], [ci, kh, kw, co]), [1, 2, 0, 3]);
  };
}

function flops(c: ConvCase): number {
  const [, oh, ow] = convInfo(c).outShape;
  const [kh, kw, ci, co] = c.filter;
  return 2 * c.x[0] * oh * ow * kh * kw * ci * co;
}

describe('wasm Conv2DBackpropFilter', () => {
  CONV_CASES.forEach((c, n) => {
    it(`matches cpu: ${c.name}`, async () => {
      const data = convData(c, 100 + 10 * n);
      const small = flops(c) <= CPU_KERNEL_MAX_FLOPS;
      const expected = await valuesOn('cpu', small ? viaKernel(c, data) : viaForwardConv(c, data));
      if (small) {
        assertClose(await valuesOn('cpu', viaForwardConv(c, data)), expected, KERNEL_TOLERANCE, 'identity on cpu');
      }
      assertClose(await valuesOn('wasm', viaKernel(c, data)), expected, KERNEL_TOLERANCE, 'kernel');
      const info = convInfo(c);
      const inputs = [data.x, data.dy];
      assertClose(await runOnWasm((b, [x, dy]) => byIm2col(b, x!, dy!, info), inputs), expected, KERNEL_TOLERANCE, 'byIm2col');
      assertClose(await runOnWasm((b, [x, dy]) => byConvolution(b, x!, dy!, info), inputs), expected, KERNEL_TOLERANCE, 'byConvolution');
    });
  });

  it('identity reference equals cpu kernel on a reference layer at batch 1', async () => {
    const c: ConvCase = { name: '', x: [1, 7, 7, 128], filter: [3, 3, 128, 128], strides: 1, pad: 'same' };
    const data = convData(c, 5);
    assertClose(await valuesOn('cpu', viaForwardConv(c, data)), await valuesOn('cpu', viaKernel(c, data)), KERNEL_TOLERANCE, 'identity');
  });

  it('is what tf.grads uses for a conv2d filter on wasm', async () => {
    const c = CONV_CASES[4]!;
    const data = convData(c, 7);
    const grad = () => {
      const dy = tf.tensor(data.dy.values, data.dy.shape);
      const f = (w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(tf.tensor4d(data.x.values, c.x), w as tf.Tensor4D, c.strides, c.pad as 'same'), dy));
      return tf.grad(f)(tf.tensor(data.filter.values, data.filter.shape));
    };
    assertClose(await valuesOn('wasm', grad), await valuesOn('cpu', grad), KERNEL_TOLERANCE, 'grad');
  });

  it('rejects NCHW and a dy of the wrong shape, saying what it found', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 5, 5, 2]);
    const dy = tf.zeros([1, 5, 5, 3]);
    assert.throws(
      () => tf.engine().runKernel(Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] }),
      { message: 'Conv2DBackpropFilter on wasm supports dataFormat NHWC only, found NCHW' },
    );
    assert.throws(
      () => tf.engine().runKernel(Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }),
      { message: 'Conv2DBackpropFilter: dy has shape [1, 5, 5, 3], but the convolution produces [1, 3, 3, 3]' },
    );
    tf.dispose([x, dy]);
  });
});
