/**
 * Native reductions (native/src/reduce.cc): Sum, Mean, Max, Min, Prod over
 * any axes, ArgMax/ArgMin over one axis, and Softmax over the last axis.
 * A set of adjacent axes is reduced in place as the middle of an
 * [outer, r, inner] view; any other set is first moved to the end with the
 * native transpose, as the cpu backend does. float32 only.
 */
import { ArgMax, ArgMin, backend_util, Max, Mean, Min, Prod, Softmax, Sum, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from './addon.js';
import { transposeInto } from './layout.js';
import { f32, nativeKernel, output, sizeOf } from './tensors.js';

/** Codes of native/src/reduce.cc's `Reduction` enum. */
const Reduction = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4 } as const;

interface View {
  values: Float32Array;
  outer: number;
  r: number;
  inner: number;
  /** A transposed copy to dispose after use, if one was made. */
  temporary?: TensorInfo;
}

/** x seen as [outer, r, inner] with `axes` (sorted, unique) as r. */
function view(backend: MathBackendCPU, native: NativeAddon, x: TensorInfo, xv: Float32Array, axes: number[]): View {
  const shape = x.shape;
  const first = axes[0] ?? shape.length;
  const adjacent = axes.every((a, i) => a === first + i);
  if (adjacent) {
    const end = first + axes.length;
    return {
      values: xv,
      outer: sizeOf(shape.slice(0, first)),
      r: sizeOf(shape.slice(first, end)),
      inner: sizeOf(shape.slice(end)),
    };
  }
  const perm = backend_util.getAxesPermutation(axes, shape.length)!;
  const [t, tv] = transposeInto(backend, native, x, xv, perm);
  const r = sizeOf(axes.map((a) => shape[a]!));
  return { values: tv as Float32Array, outer: sizeOf(shape) / r, r, inner: 1, temporary: t };
}

function reduction(kernelName: string, op: number, axisAttr: 'axis' | 'reductionIndices', addon: NativeAddon): KernelConfig {
  return nativeKernel(kernelName, addon, ({ inputs, backend, attrs }, native) => {
    const x = inputs['x'] as TensorInfo;
    const xv = f32(backend, x);
    if (xv === undefined) return undefined;
    const axes = [...new Set(util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape))].sort((a, b) => a - b);
    let outShape = x.shape.filter((_, d) => !axes.includes(d));
    if (attrs['keepDims']) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
    const [out, ov] = output(backend, outShape, 'float32', xv.length === 0);
    if (xv.length === 0) {
      if (op === Reduction.Prod) ov.fill(1);
      else if (op !== Reduction.Sum) return undefined; // let the cpu kernel define max/mean of nothing
      return out;
    }
    const v = view(backend, native, x, xv, axes);
    native.reduce(op, v.values, ov, v.outer, v.r, v.inner);
    if (v.temporary) backend.disposeIntermediateTensorInfo(v.temporary);
    return out;
  });
}

function argReduction(kernelName: string, isMax: boolean, addon: NativeAddon): KernelConfig {
  return nativeKernel(kernelName, addon, ({ inputs, backend, attrs }, native) => {
    const x = inputs['x'] as TensorInfo;
    const xv = f32(backend, x);
    if (xv === undefined || xv.length === 0) return undefined;
    const axes = util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
    if (axes.length !== 1) return undefined;
    const axis = axes[0]!;
    const [out, ov] = output(backend, x.shape.filter((_, d) => d !== axis), 'int32');
    native.argReduce(isMax, xv, ov, sizeOf(x.shape.slice(0, axis)), x.shape[axis]!, sizeOf(x.shape.slice(axis + 1)));
    return out;
  });
}

export function reduceKernels(addon: NativeAddon): KernelConfig[] {
  const softmax = nativeKernel(Softmax, addon, ({ inputs, backend, attrs }, native) => {
    const logits = inputs['logits'] as TensorInfo;
    const lv = f32(backend, logits);
    const rank = logits.shape.length;
    if (lv === undefined || rank === 0) return undefined;
    const dim = util.parseAxisParam([attrs['dim'] as number], logits.shape)[0];
    if (dim !== rank - 1) return undefined;
    const [out, ov] = output(backend, [...logits.shape], 'float32');
    const cols = logits.shape[rank - 1]!;
    if (ov.length > 0) native.softmax(lv, ov, ov.length / cols, cols);
    return out;
  });
  return [
    reduction(Sum, Reduction.Sum, 'axis', addon),
    reduction(Mean, Reduction.Mean, 'axis', addon),
    reduction(Max, Reduction.Max, 'reductionIndices', addon),
    reduction(Min, Reduction.Min, 'axis', addon),
    reduction(Prod, Reduction.Prod, 'axis', addon),
    argReduction(ArgMax, true, addon),
    argReduction(ArgMin, false, addon),
    softmax,
  ];
}
