/**
 * Native data-movement kernels (native/src/layout.cc): Transpose (float32
 * and int32), GatherV2 along any axis with batchDims 0 (a VQ-VAE's codebook
 * lookup), and UnsortedSegmentSum, the gradient of that gather. Out-of-range
 * gather indices give the cpu backend's error message.
 */
import { GatherV2, Transpose, UnsortedSegmentSum, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from './addon.js';
import { f32, i32, nativeKernel, output, sizeOf, words } from './tensors.js';

/** x transposed by perm into a new tensor of x's dtype. */
export function transposeInto(
  backend: MathBackendCPU, native: NativeAddon, x: TensorInfo, xv: Float32Array | Int32Array, perm: number[],
): [TensorInfo, Float32Array | Int32Array] {
  const [out, ov] = output(backend, perm.map((p) => x.shape[p]!), x.dtype);
  if (ov.length > 0) native.transpose(xv, ov, [...x.shape], perm);
  return [out, ov];
}

export function layoutKernels(addon: NativeAddon): KernelConfig[] {
  const transpose = nativeKernel(Transpose, addon, ({ inputs, backend, attrs }, native) => {
    const x = inputs['x'] as TensorInfo;
    const xv = words(backend, x);
    if (xv === undefined) return undefined;
    return transposeInto(backend, native, x, xv, attrs['perm'] as number[])[0];
  });

  const gather = nativeKernel(GatherV2, addon, ({ inputs, backend, attrs }, native) => {
    const { x, indices } = inputs as Record<string, TensorInfo>;
    const xv = words(backend, x!);
    const iv = i32(backend, indices!);
    if (xv === undefined || iv === undefined || Number(attrs['batchDims'] ?? 0) !== 0) return undefined;
    const axis = util.parseAxisParam(attrs['axis'] as number, x!.shape)[0]!;
    const axisSize = x!.shape[axis]!;
    const outShape = [...x!.shape.slice(0, axis), ...indices!.shape, ...x!.shape.slice(axis + 1)];
    const [out, ov] = output(backend, outShape, x!.dtype);
    if (iv.length === 0) return out;
    try {
      // An index out of range throws tfjs's own message, before any work.
      native.gather(xv, iv, ov, sizeOf(x!.shape.slice(0, axis)), axisSize, sizeOf(x!.shape.slice(axis + 1)));
    } catch (error) {
      backend.disposeIntermediateTensorInfo(out);
      throw error;
    }
    return out;
  });

  const segmentSum = nativeKernel(UnsortedSegmentSum, addon, ({ inputs, backend, attrs }, native) => {
    const { x, segmentIds } = inputs as Record<string, TensorInfo>;
    const xv = f32(backend, x!);
    const idv = i32(backend, segmentIds!);
    const idRank = segmentIds!.shape.length;
    if (xv === undefined || idv === undefined) return undefined;
    if (segmentIds!.shape.some((d, i) => d !== x!.shape[i])) return undefined;
    const numSegments = Number(attrs['numSegments']);
    const rest = x!.shape.slice(idRank);
    const [out, ov] = output(backend, [numSegments, ...rest], 'float32', true);
    if (ov.length > 0 && idv.length > 0) native.segmentSum(xv, idv, ov, sizeOf(rest), numSegments);
    return out;
  });

  return [transpose, gather, segmentSum];
}
