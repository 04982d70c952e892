/**
 * Conv2DBackpropFilter for the wasm backend: the gradient of a 2-D convolution
 * with respect to its filter. tfjs-backend-wasm 4.22 has no such kernel, so
 * without it no convolutional model can train on wasm.
 *
 * Axes: b - batch, h/w - input height/width, oh/ow - output height/width,
 * ci/co - input/output channels, kh/kw - filter height/width, sh/sw - strides.
 *
 *   x [b, h, w, ci], dy [b, oh, ow, co]  ->  dw [kh, kw, ci, co]
 *
 * e.g. the reference encoder's second convolution, 4x4 stride 2 pad 1:
 * x [128, 14, 14, 64] and dy [128, 7, 7, 128] give dw [4, 4, 64, 128].
 *
 *   dw[r, c, i, o] = sum over n, y, x of xpad[n, y*sh + r, x*sw + c, i] * dy[n, y, x, o]
 *
 * Two ways, both ending in XNNPACK, the only fast code the wasm backend has:
 * - byConvolution (the usual case): the sum above is itself a convolution,
 *   with the input channels as its batch and the batch as its channels:
 *   x as [ci, h, w, b] convolved with dy as a [oh, ow, b, co] filter, dilated
 *   by the stride, gives [ci, kh, kw, co]. Two transposes and one wasm Conv2D;
 *   no unrolled copy of the input is made.
 * - byIm2col, when ci*kh*kw is small (the first encoder layer has ci = 1,
 *   and 1x1 convolutions): there that convolution has few output pixels
 *   (ci*kh*kw), which XNNPACK runs slowly. Instead x is unrolled into
 *   colsT [ci*kh*kw, b*oh*ow], small for such layers, and dw = colsT · dy in
 *   wasm's BatchMatMul.
 * NHWC and dilation 1 only, like tfjs's conv2d gradient.
 */
import { BatchMatMul, Conv2D, Conv2DBackpropFilter, Transpose } from '@tensorflow/tfjs-core';
import type {
  backend_util,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { conv2DInfoNHWC, expectOutShape } from './convInfo.js';
import { f32View, withShape } from './heap.js';
import { runWasmKernel } from './runKernel.js';

/**
 * Up to this many filter taps per output channel (ci*kh*kw), byIm2col.
 * Measured at batch 128 (ms, im2col / convolution): 4x4x1 24 / 36,
 * 4x4x3 45 / 57, 1x1x32 12 / 17, 1x1x128 13 / 27; but 3x3x16 123 / 51,
 * 4x4x64 161 / 130, 3x3x128 to 32 channels 77 / 45.
 */
export const IM2COL_MAX_TAPS = 128;

export function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = conv2DInfoNHWC(Conv2DBackpropFilter, x.shape, attrs.filterShape, attrs);
  expectOutShape(Conv2DBackpropFilter, dy.shape, info);
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  return taps <= IM2COL_MAX_TAPS ? byIm2col(backend, x, dy, info) : byConvolution(backend, x, dy, info);
}

/** dw as a convolution of x over dy; see the file comment. */
export function byConvolution(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;

  const xT = runWasmKernel(backend, Transpose, { x }, { perm: [3, 1, 2, 0] }); // [ci, h, w, b]
  const dyT = runWasmKernel(backend, Transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, b, co]
  // Pad after the image only as far as the last filter row still reaches;
  // the forward convolution padded at least that much. When it is clipped to
  // 0 the product is taller than kh, and the extra rows are dropped below.
  const padBottom = Math.max(0, filterHeight + (outHeight - 1) * strideHeight - inHeight - top);
  const padRight = Math.max(0, filterWidth + (outWidth - 1) * strideWidth - inWidth - left);
  const prod = runWasmKernel(
    backend,
    Conv2D,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [[0, 0], [top, padBottom], [left, padRight], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    },
  ); // [ci, kh', kw', co], kh' >= kh, kw' >= kw
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);

  const [, prodHeight, prodWidth] = prod.shape as [number, number, number, number];
  const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  // Views only after the allocation above: it may grow (and detach) the heap.
  const pv = f32View(backend, prod);
  const dv = f32View(backend, dw);
  for (let r = 0; r < filterHeight; r++) {
    for (let c = 0; c < filterWidth; c++) {
      for (let i = 0; i < inChannels; i++) {
        const src = ((i * prodHeight + r) * prodWidth + c) * outChannels;
        dv.set(pv.subarray(src, src + outChannels), ((r * filterWidth + c) * inChannels + i) * outChannels);
      }
    }
  }
  backend.disposeData(prod.dataId);
  return dw;
}

/** dw as colsT · dy, with x unrolled in JS; see the file comment. */
export function byIm2col(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const taps = filterHeight * filterWidth * inChannels;
  const pixels = batchSize * outHeight * outWidth;

  const colsT = backend.makeOutput([taps, pixels], 'float32');
  // dy goes to BatchMatMul as b, so as a private copy (see runKernel.ts).
  const dyCopy = backend.makeOutput([pixels, outChannels], 'float32');
  // Views only after the allocations above: they may grow (and detach) the heap.
  f32View(backend, dyCopy).set(f32View(backend, dy));
  const xv = f32View(backend, x);
  const cv = f32View(backend, colsT);
  // One pass per filter tap (r, c): each output pixel p copies the ci input
  // channels under that tap down column p of colsT (zeros where the tap is
  // on the padding: the heap is not zeroed).
  for (let r = 0; r < filterHeight; r++) {
    for (let c = 0; c < filterWidth; c++) {
      const rowBase = (r * filterWidth + c) * inChannels * pixels;
      let p = 0;
      for (let n = 0; n < batchSize; n++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * strideHeight - top + r;
          const rowInside = ih >= 0 && ih < inHeight;
          for (let ow = 0; ow < outWidth; ow++, p++) {
            const iw = ow * strideWidth - left + c;
            let dst = rowBase + p;
            if (rowInside && iw >= 0 && iw < inWidth) {
              let src = ((n * inHeight + ih) * inWidth + iw) * inChannels;
              for (let i = 0; i < inChannels; i++, dst += pixels) cv[dst] = xv[src++];
            } else {
              for (let i = 0; i < inChannels; i++, dst += pixels) cv[dst] = 0;
            }
          }
        }
      }
    }
  }
  const dw = runWasmKernel(backend, BatchMatMul, { a: colsT, b: dyCopy }, { transposeA: false, transposeB: false });
  backend.disposeData(colsT.dataId);
  backend.disposeData(dyCopy.dataId);
  return withShape(dw, [filterHeight, filterWidth, inChannels, outChannels]);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
