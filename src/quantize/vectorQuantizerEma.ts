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
import { checkInputs, NearestCodeQuantizer, type CodebookOptions } from './nearestCode.js';
import { codeCounts, l2Normalize } from './ops.js';
import { replaceRows, setEntries } from './restart.js';
import type { CodeIndices, QuantizerOutput } from './types.js';


export interface VectorQuantizerEmaOptions extends CodebookOptions {
  /** Commitment cost beta; 0.25 in the paper. */
  beta?: number;
  /** Decay gamma of the moving averages; 0.99 in the paper. */
  decay?: number;
  /** Laplace smoothing of the counts. */
  epsilon?: number;
}

export const VECTOR_QUANTIZER_EMA_DEFAULTS = {
  beta: 0.25,
  decay: 0.99,
  epsilon: 1e-5,
  seed: 0,
  name: 'quantizer',
} as const;

export class VectorQuantizerEMA extends NearestCodeQuantizer {
  readonly beta: number;
  readonly decay: number;
  readonly epsilon: number;
  /** N [k]: moving average of how many vectors each code takes. */
  readonly emaCount: tf.Variable;
  /** m [k, d]: moving average of the sum of the vectors each code takes. */
  readonly emaSum: tf.Variable;

  constructor(options: VectorQuantizerEmaOptions) {
    const defaults = VECTOR_QUANTIZER_EMA_DEFAULTS;
    super(options, defaults.name, false);
    this.beta = options.beta ?? defaults.beta;
    this.decay = options.decay ?? defaults.decay;
    this.epsilon = options.epsilon ?? defaults.epsilon;
    this.emaCount = tf.variable(tf.tidy(() => tf.ones([this.codebookSize])), false);
    this.emaSum = tf.variable(tf.tidy(() => tf.clone(this.codebook)), false);
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    return tf.tidy(() => {
      const { commitmentLoss, quantized, indices, perplexity, codesUsed } = this.snap(inputs);
      const loss = tf.mul(commitmentLoss, this.beta) as tf.Scalar;
      return { quantized, indices, loss, commitmentLoss, perplexity, codesUsed };
    });
  }

  /**
   * Equations 6-8 from the step's vectors (unit rows with `cosine`, whose
   * codebook is then the unit rows of m_i / N_i), then dead-code restarts.
   */
  update(inputs: tf.Tensor4D, indices: CodeIndices): void {
    checkInputs(inputs, this.codeDim);
    const flat = this.searchVectors(inputs);
    tf.tidy(() => {
      const k = this.codebookSize;
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
      const codebook = tf.div(sum, tf.expandDims(smoothed, 1)) as tf.Tensor2D;
      this.codebook.assign(this.cosine ? l2Normalize(codebook) : codebook);
    });
    flat.dispose();
    this.restartDead(inputs, indices);
  }

  /** A new code starts as if it had once been assigned its own value: N_i = 1, m_i = e_i. */
  protected setCodes(codes: readonly number[], vectors: Float32Array): void {
    replaceRows(this.codebook, codes, vectors);
    replaceRows(this.emaSum, codes, vectors);
    setEntries(this.emaCount, codes, 1);
  }

  trainable(): Record<string, tf.Variable> {
    return {};
  }

  state(): Record<string, tf.Variable> {
    return {
      [`${this.name}.codebook`]: this.codebook,
      [`${this.name}.ema_count`]: this.emaCount,
      [`${this.name}.ema_sum`]: this.emaSum,
      ...this.restartState(),
    };
  }

  override dispose(): void {
    super.dispose();
    this.emaCount.dispose();
    this.emaSum.dispose();
  }
}
