/**
 * Slice, SplitV, PadV2 and Concat for the native backend: strided box copies in
 * TypeScript, one `TypedArray.set` per innermost run. The cpu backend's
 * versions walk every element through a TensorBuffer (about 0.2-0.4 s for a
 * [64, 7, 7, 128] PixelCNN activation, which made the prior train 8x slower
 * than on wasm); copying runs of the last axis is memory-bound instead.
 * Slices are always copies, never views into another tensor's memory.
 */
import { backend_util, Concat, PadV2, Slice, slice_util, SplitV, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';
import { nativeKernel, output, sizeOf, stridesOf, words } from './tensors.js';

type Words = Float32Array | Int32Array;

/**
 * Copies the box of shape `size` at `srcBegin` in `src` (shape `srcShape`)
 * to `dstBegin` in `dst` (shape `dstShape`), both row-major.
 */
export function copyBox(
  src: Words, srcShape: readonly number[], srcBegin: readonly number[],
  dst: Words, dstShape: readonly number[], dstBegin: readonly number[], size: readonly number[],
): void {
  const rank = size.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  if (size.some((d) => d === 0)) return;
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  const run = size[rank - 1]!;
  const outer = size.slice(0, rank - 1);
  const count = sizeOf(outer);
  const idx = new Array<number>(rank - 1).fill(0);
  let so = 0;
  let doff = 0;
  for (let d = 0; d < rank; d++) {
    so += srcBegin[d]! * ss[d]!;
    doff += dstBegin[d]! * ds[d]!;
  }
  for (let n = 0; n < count; n++) {
    dst.set(src.subarray(so, so + run), doff);
    // Odometer over the outer axes, moving both offsets by their strides.
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < outer[d]!) {
        so += ss[d]!;
        doff += ds[d]!;
        break;
      }
      so -= (outer[d]! - 1) * ss[d]!;
      doff -= (outer[d]! - 1) * ds[d]!;
      idx[d] = 0;
    }
  }
}

export function sliceKernels(addon: NativeAddon): KernelConfig[] {
  const slice = nativeKernel(Slice, addon, ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const xv = words(backend, x);
    if (xv === undefined) return undefined;
    const [begin, size] = slice_util.parseSliceParams(x, attrs['begin'] as number | number[], attrs['size'] as number | number[]);
    slice_util.assertParamsValid(x, begin, size);
    const [out, ov] = output(backend, size, x.dtype);
    copyBox(xv, x.shape, begin, ov, size, size.map(() => 0), size);
    return out;
  });

  const splitV = nativeKernel(SplitV, addon, ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const xv = words(backend, x);
    if (xv === undefined) return undefined;
    const axis = util.parseAxisParam(attrs['axis'] as number, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x, attrs['numOrSizeSplits'] as number | number[], axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const [out, ov] = output(backend, size, x.dtype);
      copyBox(xv, x.shape, begin, ov, size, size.map(() => 0), size);
      begin[axis]! += s;
      return out;
    });
  });

  const pad = nativeKernel(PadV2, addon, ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const xv = words(backend, x);
    const paddings = attrs['paddings'] as [number, number][];
    if (xv === undefined || paddings.some(([a, b]) => a < 0 || b < 0)) return undefined;
    const outShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    const [out, ov] = output(backend, outShape, x.dtype, true);
    const value = Number(attrs['constantValue'] ?? 0);
    if (value !== 0) ov.fill(value);
    copyBox(xv, x.shape, x.shape.map(() => 0), ov, outShape, paddings.map(([a]) => a), x.shape);
    return out;
  });

  // Concat: each input copied as a box at its offset along the axis (the
  // cpu kernel showed in the PixelCNN prior's profile).
  const concat = nativeKernel(Concat, addon, ({ inputs, backend, attrs }) => {
    const list = (Array.isArray(inputs) ? inputs : Object.values(inputs)) as TensorInfo[];
    if (list.length === 0) return undefined;
    const dtype = list[0]!.dtype;
    if (dtype !== 'float32' && dtype !== 'int32') return undefined;
    const axis = util.parseAxisParam(attrs['axis'] as number, list[0]!.shape)[0]!;
    const shapes = list.map((t) => t.shape);
    backend_util.assertParamsConsistent(shapes, axis);
    const values = list.map((t) => (t.dtype === dtype ? words(backend, t) : undefined));
    if (values.some((v) => v === undefined)) return undefined;
    const outShape = backend_util.computeOutShape(shapes, axis);
    const [out, ov] = output(backend, outShape, dtype);
    const at = outShape.map(() => 0);
    list.forEach((t, i) => {
      copyBox(values[i]!, t.shape, t.shape.map(() => 0), ov, outShape, at, t.shape);
      at[axis]! += t.shape[axis]!;
    });
    return out;
  });

  return [slice, splitV, pad, concat];
}
