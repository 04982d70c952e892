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
  /** The top-level grid of each, for a bottom-level prior of the two-level model. */
  readonly top?: TopCodes;
}

/** Top-level code grids: `codes` row-major [count, height, width]. */
export interface TopCodes {
  readonly height: number;
  readonly width: number;
  readonly codes: Int32Array;
}

/** Grids of `size` codes at `indices` of `all`, as one int32 array. */
function gatherGrids(all: Int32Array, size: number, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) out.set(all.subarray(indices[i]! * size, (indices[i]! + 1) * size), i * size);
  return out;
}

/** The grids at `indices` as codes [n, h, w], labels [n] (if the set has labels) and top codes [n, ht, wt] (if it has them). */
export function gatherCodes(set: CodeSet, indices: ArrayLike<number>): { codes: tf.Tensor3D; labels?: tf.Tensor1D; top?: tf.Tensor3D } {
  const n = indices.length;
  const codes = gatherGrids(set.codes, set.height * set.width, indices);
  const labels = set.labels ? Int32Array.from(indices, (j) => set.labels![j]!) : undefined;
  const top = set.top ? gatherGrids(set.top.codes, set.top.height * set.top.width, indices) : undefined;
  return {
    codes: tf.tensor3d(codes, [n, set.height, set.width], 'int32'),
    labels: labels ? tf.tensor1d(labels, 'int32') : undefined,
    top: top ? tf.tensor3d(top, [n, set.top!.height, set.top!.width], 'int32') : undefined,
  };
}

/** Grids [start, end). */
export function sliceCodes(set: CodeSet, start: number, end: number): { codes: tf.Tensor3D; labels?: tf.Tensor1D; top?: tf.Tensor3D } {
  return gatherCodes(set, Int32Array.from({ length: end - start }, (_, i) => start + i));
}
