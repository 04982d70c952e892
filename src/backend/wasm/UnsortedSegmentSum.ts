/**
 * UnsortedSegmentSum for the wasm backend, which tfjs-backend-wasm 4.22 lacks.
 * It is the gradient of `tf.gather` (the codebook lookup of a VQ-VAE) and
 * the per-code sums of the EMA codebook update (paper appendix).
 *
 * Axes: s - the segmented leading axes (any number), d - the rest.
 *
 *   x [...s, ...d] (float32 or int32), segmentIds [...s] (int32),
 *   numSegments  ->  out [numSegments, ...d], same dtype as x
 *
 * out[j] = sum of x[i] over every i with segmentIds[i] = j. e.g. x [6272, 64]
 * (one row per encoder output vector) with segmentIds [6272] (its code) and
 * numSegments 512 gives out [512, 64]. As in TensorFlow, an id outside
 * [0, numSegments) drops its row, and a segment with no rows is zero.
 */
import { UnsortedSegmentSum } from '@tensorflow/tfjs-core';
import type {
  KernelConfig,
  KernelFunc,
  TensorInfo,
  UnsortedSegmentSumAttrs,
  UnsortedSegmentSumInputs,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { f32View, i32View } from './heap.js';

export function unsortedSegmentSum(args: {
  inputs: UnsortedSegmentSumInputs;
  backend: BackendWasm;
  attrs: UnsortedSegmentSumAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const { numSegments } = attrs;

  const idShape = segmentIds.shape;
  if (idShape.length > x.shape.length || idShape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `UnsortedSegmentSum: segmentIds shape [${idShape.join(', ')}] must be a prefix of x shape [${x.shape.join(', ')}]`,
    );
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer, found ${numSegments}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32 x, found ${x.dtype}`);
  }

  const rowShape = x.shape.slice(idShape.length);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  // Views only after the allocation above: it may grow (and detach) the heap.
  const ids = i32View(backend, segmentIds);
  const xv = x.dtype === 'float32' ? f32View(backend, x) : i32View(backend, x);
  const ov = x.dtype === 'float32' ? f32View(backend, out) : i32View(backend, out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const j = ids[i];
    if (j < 0 || j >= numSegments) continue;
    let src = i * rowSize;
    let dst = j * rowSize;
    for (let e = 0; e < rowSize; e++) {
      ov[dst++] += xv[src++];
    }
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
