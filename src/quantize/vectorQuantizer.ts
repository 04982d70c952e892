/**
 * The vector quantizer of VQ-VAE (van den Oord et al. 2017, section 3.1).
 *
 * Each d-vector of z_e snaps to its nearest code e_k of a learned codebook
 * E [k, d]: an input of shape [16, 7, 7, 64] is reshaped into [784, 64] and
 * all 784 vectors are quantized independently. Gradients pass the snap by the
 * straight-through estimator, z_q = z_e + stopgrad(e_k - z_e), and the
 * codebook learns from equation 3's second and third terms:
 *
 *   loss = ||stopgrad(z_e) - e||^2 + beta * ||z_e - stopgrad(e)||^2
 *
 * each averaged over all elements, as Sonnet does.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension, k - codes,
 * m - vectors (b * h * w).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NearestCodeQuantizer, type CodebookOptions } from './nearestCode.js';

export { checkInputs, checkQuantizerSizes, initialCodebook, lookupCodes } from './nearestCode.js';
import { stopGradient } from './ops.js';
import { replaceRows } from './restart.js';
import type { CodeIndices, QuantizerOutput } from './types.js';

export interface VectorQuantizerOptions extends CodebookOptions {
  /** Commitment cost beta (equation 3); the paper uses 0.25. */
  beta?: number;
}

export const VECTOR_QUANTIZER_DEFAULTS = { beta: 0.25, seed: 0, name: 'quantizer' } as const;

export class VectorQuantizer extends NearestCodeQuantizer {
  readonly beta: number;

  constructor(options: VectorQuantizerOptions) {
    super(options, VECTOR_QUANTIZER_DEFAULTS.name, true);
    this.beta = options.beta ?? VECTOR_QUANTIZER_DEFAULTS.beta;
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    return tf.tidy(() => {
      const { flat, codes, commitmentLoss, quantized, indices, perplexity, codesUsed } = this.snap(inputs);
      const codebookLoss = tf.mean(tf.squaredDifference(stopGradient(flat), codes)) as tf.Scalar;
      const loss = tf.add(codebookLoss, tf.mul(commitmentLoss, this.beta)) as tf.Scalar;
      return { quantized, indices, loss, commitmentLoss, perplexity, codesUsed };
    });
  }

  /** The codebook learns through `loss`; after a step only dead codes are restarted (with restartDead). */
  update(inputs: tf.Tensor4D, indices: CodeIndices): void {
    this.restartDead(inputs, indices);
  }

  protected setCodes(codes: readonly number[], vectors: Float32Array): void {
    replaceRows(this.codebook, codes, vectors);
  }

  trainable(): Record<string, tf.Variable> {
    return { [`${this.name}.codebook`]: this.codebook };
  }

  state(): Record<string, tf.Variable> {
    return { ...this.trainable(), ...this.restartState() };
  }
}

