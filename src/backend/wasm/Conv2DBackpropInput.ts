/**
 * Conv2DBackpropInput for the wasm backend: the gradient of a 2-D convolution
 * with respect to its input, which is also the whole of `tf.conv2dTranspose`
 * (the decoder's upsampling layers). It replaces wasm's own kernel, a direct
 * loop at about 2 GFLOP/s.
 *
 * Axes: b - batch, h/w - input height/width, oh/ow - output height/width,
 * ci/co - input/output channels of the forward convolution, kh/kw - filter
 * height/width, sh/sw - strides.
 *
 *   dy [b, oh, ow, co], filter [kh, kw, ci, co], inputShape [b, h, w, ci]
 *     ->  dx [b, h, w, ci]
 *
 * e.g. the reference decoder's first transposed convolution, 4x4 stride 2,
 * 'same', 7x7 -> 14x14: dy [128, 7, 7, 128], filter [4, 4, 64, 128] give
 * dx [128, 14, 14, 64].
 *
 * Two ways, both ending in XNNPACK, the only fast code the wasm backend has:
 * - byPhases (the usual case): split dx by phase, (y + top) mod sh and
 *   (x + left) mod sw. A phase receives from only the filter taps
 *   r = phase + sh*j (likewise for columns), from dy rows q - j, where
 *   q = (y + top - phase) / sh; so each phase is a stride-1 convolution of dy
 *   with those taps, flipped and with ci and co swapped. Those run in wasm's
 *   Conv2D and the sh*sw results are interleaved into dx; stride 1 is one
 *   phase, whose result is dx itself. No multiply-add is wasted and no
 *   column buffer is made.
 * - byColumns, for 1 or 2 input channels (the decoder's last layer, to a
 *   grey image): cols [b*oh*ow, kh*kw*ci] = dy · filterᵀ in wasm's
 *   BatchMatMul, then col2im in JS adds each row into dx under the filter.
 * NHWC and dilation 1 only, like tfjs's conv2d gradient.
 */
import { BatchMatMul, Conv2D, Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type {
  backend_util,
  Conv2DBackpropInputAttrs,
  Conv2DBackpropInputInputs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { conv2DInfoNHWC, expectOutShape } from './convInfo.js';
import { f32View, withShape } from './heap.js';
import { runWasmKernel } from './runKernel.js';

/**
 * Up to this many input channels, byColumns: the phase convolutions would
 * have ci output channels, and XNNPACK is slow at very few. Measured at
 * batch 128 (ms, columns / phases): 28x28x1 from 14x14x64 9 / 74,
 * 32x32x3 from 16x16x64 49 / 40, 14x14x8 from 32 channels 3x3 26 / 9.
 */
export const COLUMNS_MAX_IN_CHANNELS = 2;

/** One phase along one spatial axis. */
export interface Phase {
  /** Filter taps that reach this phase: r = phase + stride * j, j < taps. */
  taps: number;
  /** Tap index of the first of them (the phase itself). */
  phase: number;
  /** First dx position in the phase, and how many there are (stride apart). */
  first: number;
  count: number;
  /** Padding of dy for the stride-1 convolution. */
  padBefore: number;
  padAfter: number;
  /** Index in that convolution's output of the phase's first position. */
  offset: number;
}

/**
 * The phases along one axis. With t = taps and q0 = (first + padTop - phase) /
 * stride, position first + stride*m of dx is sum over u < t of
 * dy[q0 + m - (t-1) + u] * tap[phase + stride*(t-1-u)]: a stride-1 convolution
 * whose output index is m + offset once dy is padded by padBefore.
 */
export function phases(kernel: number, stride: number, padTop: number, inSize: number, outSize: number): Phase[] {
  const result: Phase[] = [];
  for (let phase = 0; phase < stride; phase++) {
    const taps = phase < kernel ? Math.ceil((kernel - phase) / stride) : 0;
    const first = (((phase - padTop) % stride) + stride) % stride;
    const count = first < inSize ? Math.ceil((inSize - first) / stride) : 0;
    if (count === 0) continue;
    const q0 = (first + padTop - phase) / stride;
    const padBefore = Math.max(0, taps - 1 - q0);
    const offset = q0 - (taps - 1) + padBefore;
    // The convolution's output has outSize + padBefore + padAfter - taps + 1
    // rows; it must reach offset + count.
    const padAfter = Math.max(0, offset + count + taps - 1 - outSize - padBefore);
    result.push({ taps, phase, first, count, padBefore, padAfter, offset });
  }
  return result;
}

export function conv2DBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = conv2DInfoNHWC(Conv2DBackpropInput, attrs.inputShape, filter.shape, attrs);
  expectOutShape(Conv2DBackpropInput, dy.shape, info);
  return info.inChannels <= COLUMNS_MAX_IN_CHANNELS
    ? byColumns(backend, dy, filter, info)
    : byPhases(backend, dy, filter, info);
}

/** dx as interleaved stride-1 convolutions of dy; see the file comment. */
export function byPhases(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const rows = phases(filterHeight, strideHeight, info.padInfo.top, inHeight, outHeight);
  const cols = phases(filterWidth, strideWidth, info.padInfo.left, inWidth, outWidth);

  let dx: TensorInfo | undefined;
  // A phase with no taps (stride above the kernel size) gets no convolution,
  // and the heap is not zeroed, so dx starts at 0 then.
  if (rows.some((p) => p.taps === 0) || cols.some((p) => p.taps === 0)) {
    dx = backend.makeOutput(info.inShape, 'float32');
    f32View(backend, dx).fill(0);
  }

  for (const ph of rows) {
    for (const pw of cols) {
      if (ph.taps === 0 || pw.taps === 0) continue;
      const part = phaseConvolution(backend, dy, filter, ph, pw, strideHeight, strideWidth);
      const [, partHeight, partWidth] = part.shape as [number, number, number, number];
      const whole =
        dx === undefined && ph.count === inHeight && pw.count === inWidth && ph.offset === 0 && pw.offset === 0 &&
        partHeight === inHeight && partWidth === inWidth;
      if (whole) return part; // stride 1 (one phase): it is all of dx

      if (dx === undefined) dx = backend.makeOutput(info.inShape, 'float32');
      // Views only after the allocations above: they may grow (and detach) the heap.
      const pv = f32View(backend, part);
      const dv = f32View(backend, dx);
      for (let n = 0; n < batchSize; n++) {
        for (let m = 0; m < ph.count; m++) {
          const y = ph.first + strideHeight * m;
          let src = ((n * partHeight + ph.offset + m) * partWidth + pw.offset) * inChannels;
          let dst = ((n * inHeight + y) * inWidth + pw.first) * inChannels;
          const dstStep = strideWidth * inChannels;
          if (inChannels >= 16) {
            for (let l = 0; l < pw.count; l++, src += inChannels, dst += dstStep) {
              dv.set(pv.subarray(src, src + inChannels), dst);
            }
          } else {
            // Too few channels for a native copy call to pay off.
            for (let l = 0; l < pw.count; l++, dst += dstStep) {
              for (let i = 0; i < inChannels; i++) dv[dst + i] = pv[src++];
            }
          }
        }
      }
      backend.disposeData(part.dataId);
    }
  }
  if (dx === undefined) {
    // Unreachable: some phase has both taps and positions unless dx is empty.
    throw new Error(`Conv2DBackpropInput: no phase for input shape [${info.inShape.join(', ')}]`);
  }
  return dx;
}

/** dx as col2im(dy · filterT) in JS; see the file comment. */
export function byColumns(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const taps = filterHeight * filterWidth * inChannels;
  const pixels = batchSize * outHeight * outWidth;

  // filterT [co, taps]: the filter seen as [taps, co], transposed because
  // the fast BatchMatMul takes untransposed operands; also a private b.
  const filterT = backend.makeOutput([outChannels, taps], 'float32');
  {
    const fv = f32View(backend, filter);
    const tv = f32View(backend, filterT);
    for (let k = 0; k < taps; k++) {
      for (let o = 0, src = k * outChannels; o < outChannels; o++) tv[o * taps + k] = fv[src++];
    }
  }
  const cols = runWasmKernel(
    backend,
    BatchMatMul,
    { a: withShape(dy, [pixels, outChannels]), b: filterT },
    { transposeA: false, transposeB: false },
  ); // [pixels, taps]
  backend.disposeData(filterT.dataId);

  const dx = backend.makeOutput(info.inShape, 'float32');
  // Views only after the allocations above: they may grow (and detach) the heap.
  const cv = f32View(backend, cols);
  const dv = f32View(backend, dx);
  dv.fill(0);
  // col2im: row p of cols is output pixel p's contribution to each input
  // position under the filter; add it there.
  let src = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        for (let r = 0; r < filterHeight; r++) {
          const y = oh * strideHeight - top + r;
          if (y < 0 || y >= inHeight) {
            src += filterWidth * inChannels;
            continue;
          }
          for (let c = 0; c < filterWidth; c++) {
            const x = ow * strideWidth - left + c;
            if (x < 0 || x >= inWidth) {
              src += inChannels;
              continue;
            }
            let dst = ((n * inHeight + y) * inWidth + x) * inChannels;
            for (let i = 0; i < inChannels; i++) dv[dst++] += cv[src++];
          }
        }
      }
    }
  }
  backend.disposeData(cols.dataId);
  return dx;
}

/** One phase's stride-1 convolution of dy: [b, *, *, co] -> [b, *, *, ci]. */
function phaseConvolution(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  ph: Phase,
  pw: Phase,
  strideHeight: number,
  strideWidth: number,
): TensorInfo {
  const [, filterWidth, inChannels, outChannels] = filter.shape as [number, number, number, number];
  // taps[u, v, o, i] = filter[ph.phase + sh*(th-1-u), pw.phase + sw*(tw-1-v), i, o]
  const taps = backend.makeOutput([ph.taps, pw.taps, outChannels, inChannels], 'float32');
  const fv = f32View(backend, filter);
  const tv = f32View(backend, taps);
  for (let u = 0; u < ph.taps; u++) {
    const r = ph.phase + strideHeight * (ph.taps - 1 - u);
    for (let v = 0; v < pw.taps; v++) {
      const c = pw.phase + strideWidth * (pw.taps - 1 - v);
      const dst = (u * pw.taps + v) * outChannels * inChannels;
      const src = (r * filterWidth + c) * inChannels * outChannels;
      for (let i = 0; i < inChannels; i++) {
        for (let o = 0; o < outChannels; o++) tv[dst + o * inChannels + i] = fv[src + i * outChannels + o];
      }
    }
  }
  const part = runWasmKernel(
    backend,
    Conv2D,
    { x: dy, filter: taps },
    {
      strides: [1, 1],
      pad: [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  );
  backend.disposeData(taps.dataId);
  return part;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
