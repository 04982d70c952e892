/**
 * The nearest-code search in one native call (native/src/nearest.cc), which
 * registerNativeBackend() registers for src/quantize/ops.ts's nearestCodes
 * (src/backend/fusedNearest.ts): the indices tfjs's matMul, sub and argMin
 * give, without the [m, k] distance matrix.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import { loadAddon } from './addon.js';
import { f32, NATIVE_BACKEND } from './tensors.js';

/** Indices [m] of the nearest rows of codebook [k, d] to flat [m, d], or undefined off the native backend. */
export function nativeNearestCodes(flat: tf.Tensor2D, codebook: tf.Tensor2D): Int32Array | undefined {
  const addon = loadAddon().addon;
  const backend = tf.getBackend() === NATIVE_BACKEND ? (tf.backend() as MathBackendCPU) : undefined;
  if (addon === undefined || backend === undefined || flat.rank !== 2 || codebook.rank !== 2) return undefined;
  const [m, d] = flat.shape;
  const [k, dc] = codebook.shape;
  if (d !== dc || k < 1 || d < 1) return undefined;
  const xv = f32(backend, flat);
  const cv = f32(backend, codebook);
  if (xv === undefined || cv === undefined || xv.length !== m * d || cv.length !== k * d) return undefined;
  const out = new Int32Array(m);
  addon.nearestCodes(xv, cv, out, m, k, d);
  return out;
}
