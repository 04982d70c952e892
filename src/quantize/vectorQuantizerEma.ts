/**
 * The vector quantizer whose codebook follows exponential moving averages
 * (van den Oord et al. 2017, appendix A.1) instead of a codebook loss.
 *
 * Shapes as in `vectorQuantizer.ts`: inputs [b, h, w, d] are quantized as
 * m = b * h * w independent d-vectors. After each training step, with n_i the
 * number of vectors assigned to code i and s_i their sum (equations 6-8):
 *
 *   N_i <- gamma * N_i + (1 - gamma) * n_i
 *   m_i <- gamma * m_i + (1 - gamma) * s_i
 *   N_i <- (N_i + eps) / (n + K * eps) * n      Laplace smoothing, n = sum_i N_i
 *   e_i <- m_i / N_i
 *
 * The loss is beta times the commitment loss alone. The averages start as if
 * each code had once been assigned its own initial value (N_i = 1, m_i = e_i),
 * so e_i = m_i / N_i holds from the first step and an unused code decays in
 * N_i and m_i together instead of being divided by a count near zero.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension, k - codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { codeCounts, snapToCodebook } from './ops.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from './types.js';
import { checkInputs, checkQuantizerSizes, initialCodebook, lookupCodes } from './vectorQuantizer.js';

export interface VectorQuantizerEmaOptions {
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D: the last axis of the inputs. */
  codeDim: number;
  /** Commitment cost beta; 0.25 in the paper. */
  beta?: number;
  /** Decay gamma of the moving averages; 0.99 in the paper. */
  decay?: number;
  /** Laplace smoothing of the counts. */
  epsilon?: number;
  /** Initial codebook [k, d]; default uniform in +-sqrt(3 / D), as Sonnet. */
  initialCodebook?: tf.Tensor2D;
  /** Seed of the default initialisation. */
  seed?: number;
  /** Variable name prefix. */
  name?: string;
}

export const VECTOR_QUANTIZER_EMA_DEFAULTS = {
  beta: 0.25,
  decay: 0.99,
  epsilon: 1e-5,
  seed: 0,
  name: 'quantizer',
} as const;

export class VectorQuantizerEMA implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly beta: number;
  readonly decay: number;
  readonly epsilon: number;
  readonly codebook: tf.Variable;
  /** N [k]: moving average of how many vectors each code takes. */
  readonly emaCount: tf.Variable;
  /** m [k, d]: moving average of the sum of the vectors each code takes. */
  readonly emaSum: tf.Variable;
  /** Prefix of the names in `state()`. */
  readonly name: string;

  constructor(options: VectorQuantizerEmaOptions) {
    const defaults = VECTOR_QUANTIZER_EMA_DEFAULTS;
    const { codebookSize, codeDim } = options;
    checkQuantizerSizes(codebookSize, codeDim);
    this.codebookSize = codebookSize;
    this.codeDim = codeDim;
    this.beta = options.beta ?? defaults.beta;
    this.decay = options.decay ?? defaults.decay;
    this.epsilon = options.epsilon ?? defaults.epsilon;
    if (!(this.decay > 0 && this.decay < 1)) throw new Error(`decay must be in (0, 1), found ${this.decay}`);
    this.name = options.name ?? defaults.name;
    const initial =
      options.initialCodebook ??
      initialCodebook(codebookSize, codeDim, options.seed ?? defaults.seed);
    const trainable = false;
    this.codebook = tf.variable(initial, trainable);
    this.emaCount = tf.variable(tf.tidy(() => tf.ones([codebookSize])), trainable);
    this.emaSum = tf.variable(tf.tidy(() => tf.clone(initial)), trainable);
    if (!options.initialCodebook) initial.dispose();
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    checkInputs(inputs, this.codeDim);
    return tf.tidy(() => {
      const { commitmentLoss, quantized, indices, perplexity, codesUsed } = snapToCodebook(inputs, this.codebook as tf.Tensor2D);
      const loss = tf.mul(commitmentLoss, this.beta) as tf.Scalar;
      return { quantized, indices, loss, commitmentLoss, perplexity, codesUsed };
    });
  }

  update(inputs: tf.Tensor4D, indices: CodeIndices): void {
    checkInputs(inputs, this.codeDim);
    tf.tidy(() => {
      const k = this.codebookSize;
      const flat = tf.reshape(inputs, [-1, this.codeDim]);
      const flatIndices = tf.reshape(tf.cast(indices, 'int32'), [-1]) as tf.Tensor1D;
      const counts = codeCounts(flatIndices, k); // n_i
      const sums = tf.unsortedSegmentSum(flat, flatIndices, k); // s_i
      const g = this.decay;
      const count = tf.add(tf.mul(this.emaCount, g), tf.mul(counts, 1 - g));
      const sum = tf.add(tf.mul(this.emaSum, g), tf.mul(sums, 1 - g));
      const n = tf.sum(count);
      const smoothed = tf.mul(tf.div(tf.add(count, this.epsilon), tf.add(n, k * this.epsilon)), n);
      this.emaCount.assign(count);
      this.emaSum.assign(sum);
      this.codebook.assign(tf.div(sum, tf.expandDims(smoothed, 1)));
    });
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    return lookupCodes(this.codebook, indices, this.codebookSize, this.codeDim);
  }

  trainable(): Record<string, tf.Variable> {
    return {};
  }

  state(): Record<string, tf.Variable> {
    return {
      [`${this.name}.codebook`]: this.codebook,
      [`${this.name}.ema_count`]: this.emaCount,
      [`${this.name}.ema_sum`]: this.emaSum,
    };
  }

  dispose(): void {
    this.codebook.dispose();
    this.emaCount.dispose();
    this.emaSum.dispose();
  }
}
