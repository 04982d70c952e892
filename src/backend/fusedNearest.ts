/**
 * Where a backend can plug in a fused nearest-code search for
 * src/quantize/ops.ts's nearestCodes to use while that backend is active;
 * the native backend registers its own (src/backend/native/nearest.ts: one
 * pass, no [m, k] distance matrix). Kept free of Node imports so the
 * quantizers stay usable in the browser.
 */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * For flat [m, d] and codebook [k, d]: the index of each row's nearest code
 * (first on ties, as tfjs's argMin of ||e||^2 - 2 z.e), or undefined when
 * this search does not cover the tensors (the tfjs ops then run).
 */
export type FusedNearestCodes = (flat: tf.Tensor2D, codebook: tf.Tensor2D) => Int32Array | undefined;

const searches = new Map<string, FusedNearestCodes>();

export function registerFusedNearestCodes(backendName: string, search: FusedNearestCodes): void {
  searches.set(backendName, search);
}

export function fusedNearestCodesFor(backendName: string): FusedNearestCodes | undefined {
  return searches.get(backendName);
}
