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
import { UserError } from '../errors.js';
import { checkIndexRange, codebookLossOutput } from './ops.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from './types.js';

export interface VectorQuantizerOptions {
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D: the last axis of the inputs. */
  codeDim: number;
  /** Commitment cost beta (equation 3); the paper uses 0.25. */
  beta?: number;
  /** Initial codebook [k, d]; default uniform in +-sqrt(3 / D), as Sonnet. */
  initialCodebook?: tf.Tensor2D;
  /** Seed of the default initialisation. */
  seed?: number;
  /** Variable name prefix, so several models can live side by side. */
  name?: string;
}

export const VECTOR_QUANTIZER_DEFAULTS = { beta: 0.25, seed: 0, name: 'quantizer' } as const;

/**
 * Sonnet's codebook initialisation (variance scaling, fan-in D, uniform):
 * codes on the scale of the encoder's outputs at the start, so that many of
 * them are nearest to some input. A codebook in +-1/K, as some PyTorch ports
 * use, starts so close to 0 that one code takes every vector for hundreds of
 * steps.
 */
export function initialCodebook(codebookSize: number, codeDim: number, seed: number): tf.Tensor2D {
  const limit = Math.sqrt(3 / codeDim);
  return tf.randomUniform([codebookSize, codeDim], -limit, limit, 'float32', seed) as tf.Tensor2D;
}

export function checkQuantizerSizes(codebookSize: number, codeDim: number): void {
  if (!Number.isInteger(codebookSize) || codebookSize < 1) {
    throw new UserError(`codebook size must be an integer >= 1, found ${codebookSize}`);
  }
  if (!Number.isInteger(codeDim) || codeDim < 1) {
    throw new UserError(`code dimension must be an integer >= 1, found ${codeDim}`);
  }
}

/** Throws unless `inputs` ends in the code dimension. */
export function checkInputs(inputs: tf.Tensor, codeDim: number): void {
  const last = inputs.shape[inputs.shape.length - 1];
  if (inputs.rank !== 4 || last !== codeDim) {
    throw new Error(
      `quantizer expects inputs [batch, height, width, ${codeDim}], found [${inputs.shape.join(', ')}]`,
    );
  }
}

export class VectorQuantizer implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly beta: number;
  readonly codebook: tf.Variable;
  /** Prefix of the names in `state()`, e.g. 'quantizer' gives 'quantizer.codebook'. */
  readonly name: string;

  constructor(options: VectorQuantizerOptions) {
    const { codebookSize, codeDim } = options;
    checkQuantizerSizes(codebookSize, codeDim);
    this.codebookSize = codebookSize;
    this.codeDim = codeDim;
    this.beta = options.beta ?? VECTOR_QUANTIZER_DEFAULTS.beta;
    this.name = options.name ?? VECTOR_QUANTIZER_DEFAULTS.name;
    const seed = options.seed ?? VECTOR_QUANTIZER_DEFAULTS.seed;
    const initial = options.initialCodebook ?? initialCodebook(codebookSize, codeDim, seed);
    if (initial.shape[0] !== codebookSize || initial.shape[1] !== codeDim) {
      throw new Error(`initial codebook must be [${codebookSize}, ${codeDim}], found [${initial.shape.join(', ')}]`);
    }
    this.codebook = tf.variable(initial, true);
    if (!options.initialCodebook) initial.dispose();
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    checkInputs(inputs, this.codeDim);
    return tf.tidy(() => ({ ...codebookLossOutput(inputs, this.codebook as tf.Tensor2D, this.beta) }));
  }

  update(): void {
    // The codebook learns through `loss`; nothing to do after a step.
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    return lookupCodes(this.codebook, indices, this.codebookSize, this.codeDim);
  }

  trainable(): Record<string, tf.Variable> {
    return { [`${this.name}.codebook`]: this.codebook };
  }

  state(): Record<string, tf.Variable> {
    return this.trainable();
  }

  dispose(): void {
    this.codebook.dispose();
  }
}

/** Codes [b, h, w, d] for indices [b, h, w]; rejects indices outside 0..k-1. */
export function lookupCodes(codebook: tf.Tensor, indices: CodeIndices, k: number, d: number): tf.Tensor4D {
  if (indices.rank !== 3) {
    throw new Error(`indices must be [batch, height, width], found [${indices.shape.join(', ')}]`);
  }
  checkIndexRange(indices.dataSync(), k);
  return tf.tidy(() => {
    const [b, h, w] = indices.shape;
    const flat = tf.reshape(tf.cast(indices, 'int32'), [-1]);
    return tf.reshape(tf.gather(codebook, flat), [b, h, w, d]) as tf.Tensor4D;
  });
}
