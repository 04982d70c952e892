/**
 * Code grids held in memory, as `vqvae encode` writes them: `codes` is
 * row-major [count, height, width] int32 in 0..K-1, `labels` [count] the
 * class of each grid (for a class-conditional prior). Batches of them go to
 * the prior as int32 tensors.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';

export interface CodeSet {
  /** Where it came from, for messages (a file name). */
  readonly source: string;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** [count, height, width] */
  readonly codes: Int32Array;
  /** [count], or undefined for an unconditional prior. */
  readonly labels?: Int32Array;
}

/** The grids at `indices` as codes [n, h, w] and labels [n] (if the set has labels). */
export function gatherCodes(set: CodeSet, indices: ArrayLike<number>): { codes: tf.Tensor3D; labels?: tf.Tensor1D } {
  const size = set.height * set.width;
  const codes = new Int32Array(indices.length * size);
  const labels = set.labels ? new Int32Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    codes.set(set.codes.subarray(j * size, (j + 1) * size), i * size);
    if (labels) labels[i] = set.labels![j]!;
  }
  return {
    codes: tf.tensor3d(codes, [indices.length, set.height, set.width], 'int32'),
    labels: labels ? tf.tensor1d(labels, 'int32') : undefined,
  };
}

/** Grids [start, end). */
export function sliceCodes(set: CodeSet, start: number, end: number): { codes: tf.Tensor3D; labels?: tf.Tensor1D } {
  return gatherCodes(set, Int32Array.from({ length: end - start }, (_, i) => start + i));
}
