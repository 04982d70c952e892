/**
 * Pieces shared by the quantizers: the straight-through estimator, nearest
 * codes by squared L2 distance, and codebook-usage metrics.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import type { GradientEstimator } from '../model/config.js';
import { rotateToCodes } from './rotation.js';
import { UserError } from '../errors.js';
import type { QuantizerOutput } from './types.js';
import { fusedNearestCodesFor } from '../backend/fusedNearest.js';

/**
 * Identity forward, zero gradient backward: tfjs-core has no stop_gradient,
 * and the losses of equation 3 need one on each side.
 */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((x, save) => {
  void save;
  return { value: tf.clone(x as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * Index of the nearest row of `codebook` [k, d] for each row of `flat` [m, d]:
 * argmin_j ||z - e_j||^2 = argmin_j (||e_j||^2 - 2 z.e_j), since ||z||^2 is the
 * same for every j. Returns int32 [m].
 */
export function nearestCodes(flat: tf.Tensor2D, codebook: tf.Tensor2D): tf.Tensor1D {
  // The same indices in one pass where the backend has a fused search (native).
  const fused = fusedNearestCodesFor(tf.getBackend())?.(flat, codebook);
  if (fused !== undefined) return tf.tensor1d(fused, 'int32');
  const nearest = tf.tidy(() => {
    const codeNorms = tf.sum(tf.square(codebook), 1); // [k]
    const dots = tf.matMul(flat, codebook, false, true); // [m, k]
    const distances = tf.sub(codeNorms, tf.mul(dots, 2)); // [m, k], up to ||z||^2
    return tf.argMin(distances, 1);
  });
  // A fresh tensor, off the gradient tape: otherwise tfjs tries to
  // differentiate gather's int32 indices back through argmin, and fails.
  const indices = tf.tensor1d(nearest.dataSync() as Int32Array, 'int32');
  nearest.dispose();
  return indices;
}

/**
 * Perplexity exp(-sum_k p_k log p_k) of the code usage p, and how many codes
 * have p_k > 0. `counts` [k] holds how often each code was chosen.
 */
export function usageMetrics(counts: tf.Tensor1D): { perplexity: tf.Scalar; codesUsed: tf.Scalar } {
  return tf.tidy(() => {
    const total = tf.sum(counts);
    const p = tf.div(counts, tf.maximum(total, 1));
    // p log p is 0 at p = 0; the 1e-10 keeps log finite there (Sonnet does the same).
    const entropy = tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-10)))));
    return {
      perplexity: tf.exp(entropy) as tf.Scalar,
      codesUsed: tf.sum(tf.cast(tf.greater(counts, 0), 'int32')) as tf.Scalar,
    };
  });
}

/** Throws a UserError naming the first of `values` that is not a code index 0..k-1. */
export function checkIndexRange(values: ArrayLike<number>, k: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v < k && Number.isInteger(v))) {
      throw new UserError(`code index ${v} at position ${i} is out of range: the codebook has ${k} codes (0..${k - 1})`);
    }
  }
}

/** How many times each of the k codes occurs in `indices` (any shape), float32 [k]. */
export function codeCounts(indices: tf.Tensor, k: number): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(indices, [-1]) as tf.Tensor1D;
    return tf.unsortedSegmentSum(tf.cast(tf.onesLike(flat), 'float32'), flat, k) as tf.Tensor1D;
  });
}

/** Rows of `x` [m, d] scaled to unit length (a zero row stays zero). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12)) as tf.Tensor2D);
}

/** How the search and the gradient of `snapToCodebook` work. */
export interface SnapOptions {
  /** l2-normalise the inputs (the codebook given is then unit rows too): nearest by cosine similarity. */
  cosine?: boolean;
  /** 'ste' (default): z_e + stopgrad(e_k - z_e); 'rotation': quantize/rotation.ts. */
  gradient?: GradientEstimator;
}

/** What both quantizers compute before their losses differ. */
export interface Snapped {
  /** [m, d]: the inputs as vectors. */
  flat: tf.Tensor2D;
  /** [m, d]: each vector's nearest code, differentiable w.r.t. the codebook. */
  codes: tf.Tensor2D;
  /** ||z_e - stopgrad(e)||^2, averaged: the commitment loss of equation 3. */
  commitmentLoss: tf.Scalar;
  quantized: tf.Tensor4D;
  indices: tf.Tensor3D;
  perplexity: tf.Scalar;
  codesUsed: tf.Scalar;
}

/**
 * Snaps inputs [b, h, w, d] to their nearest codes of `codebook` [k, d], with
 * the straight-through estimator z_e + stopgrad(e_k - z_e) or the rotation
 * trick. With `cosine` the inputs are l2-normalised first, and `codebook`
 * must already be unit rows. Call inside tidy.
 */
export function snapToCodebook(inputs: tf.Tensor4D, codebook: tf.Tensor2D, options: SnapOptions = {}): Snapped {
  const [b, h, w, d] = inputs.shape;
  const k = codebook.shape[0];
  const raw = tf.reshape(inputs, [-1, d]) as tf.Tensor2D;
  const flat = options.cosine ? l2Normalize(raw) : raw;
  const indices = nearestCodes(flat, codebook);
  const codes = tf.gather(codebook, indices) as tf.Tensor2D;
  const commitmentLoss = tf.mean(tf.squaredDifference(flat, stopGradient(codes))) as tf.Scalar;
  const straightThrough =
    options.gradient === 'rotation' ? rotateToCodes(flat, codes) : tf.add(flat, stopGradient(tf.sub(codes, flat)));
  return {
    flat,
    codes,
    commitmentLoss,
    quantized: tf.reshape(straightThrough, [b, h, w, d]) as tf.Tensor4D,
    indices: tf.reshape(indices, [b, h, w]) as tf.Tensor3D,
    ...usageMetrics(codeCounts(indices, k)),
  };
}

/**
 * The VQ's output for inputs [b, h, w, d] against `codebook` [k, d] (learned
 * by its loss): the straight-through snap, and equation 3's
 * ||stopgrad(z_e) - e||^2 + beta * ||z_e - stopgrad(e)||^2. Call inside tidy.
 */
export function codebookLossOutput(inputs: tf.Tensor4D, codebook: tf.Tensor2D, beta: number): QuantizerOutput {
  const { flat, codes, commitmentLoss, quantized, indices, perplexity, codesUsed } = snapToCodebook(inputs, codebook);
  const codebookLoss = tf.mean(tf.squaredDifference(stopGradient(flat), codes)) as tf.Scalar;
  const loss = tf.add(codebookLoss, tf.mul(commitmentLoss, beta)) as tf.Scalar;
  return { quantized, indices, loss, commitmentLoss, perplexity, codesUsed };
}
