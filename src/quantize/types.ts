/**
 * What every vector quantizer returns, and the call shape they share.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension D,
 * k - codebook size K, m - number of vectors (b * h * w), n - depth (the
 * number of codebooks of a residual quantizer, rvq.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Code indices: [b, h, w] for a quantizer with one code per vector, or
 * [b, h, w, n] for a residual quantizer of depth n (one code per codebook).
 */
export type CodeIndices = tf.Tensor3D | tf.Tensor4D;

export interface QuantizerOutput {
  /** [b, h, w, d]: z_e + stopgrad(e_k - z_e), the straight-through estimator. */
  quantized: tf.Tensor4D;
  /** [b, h, w] int32: the index k of each vector's nearest code ([b, h, w, n] for depth n > 1). */
  indices: CodeIndices;
  /** Scalar: codebook loss + beta * commitment loss (commitment only for EMA). */
  loss: tf.Scalar;
  /** Scalar: the commitment loss ||z_e - stopgrad(e)||^2 alone, averaged. */
  commitmentLoss: tf.Scalar;
  /** Scalar: exp of the entropy of the code usage in this batch. */
  perplexity: tf.Scalar;
  /** Scalar: how many distinct codes the batch uses. */
  codesUsed: tf.Scalar;
}

export interface Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  /**
   * Codes per vector: n for a residual quantizer, whose indices are
   * [b, h, w, n]; absent (1) for the others, whose indices are [b, h, w].
   */
  readonly depth?: number;
  /** [k, d]. */
  readonly codebook: tf.Variable;
  /** Quantizes z_e [b, h, w, d]; changes no state. */
  apply(inputs: tf.Tensor4D): QuantizerOutput;
  /** apply(inputs).indices without the rest of apply's work, where a quantizer has a cheaper way (encoding). */
  nearestIndices?(inputs: tf.Tensor4D): CodeIndices;
  /**
   * Training-time state update after a step, from the step's encoder
   * outputs and their indices (EMA codebook); a no-op for quantizers whose
   * codebook learns by gradient. Evaluation never calls it.
   */
  update(inputs: tf.Tensor4D, indices: CodeIndices): void;
  /** The codes of a grid of indices [b, h, w] (or [b, h, w, n]) → [b, h, w, d]. */
  lookup(indices: CodeIndices): tf.Tensor4D;
  /** Variables learned by gradient descent, by name. */
  trainable(): Record<string, tf.Variable>;
  /** Every variable that a checkpoint must hold, by name. */
  state(): Record<string, tf.Variable>;
  /**
   * k-means initialisation from encoder outputs [m, d] (`--codebook-init
   * kmeans`, quantize/init.ts calls it before step `kmeansWarmup`), its
   * k-means++ draws seeded by `seed` (default: the quantizer's own seed); absent for quantizers without a
   * learned codebook.
   */
  initialize?(vectors: tf.Tensor2D, seed?: number): void;
  /** How many codes were restarted since the last call (`--restart-dead`); absent: none ever are. */
  takeRestarted?(): number;
  /** The tables an exported graph needs (onnx/): absent for quantizers that have no ONNX graph. */
  tables?(): QuantizerTables;
  dispose(): void;
}

/**
 * What a graph outside tfjs needs to find codes and look them up, as the
 * library does: the rows the nearest-code search compares against [k, d]
 * (unit rows with `cosine`), and the codes the decoder receives [k, D].
 */
export interface QuantizerTables {
  search: Float32Array;
  lookup: Float32Array;
}
