/**
 * SimVQ (Zhu et al. 2024, "Addressing Representation Collapse in Vector
 * Quantized Models with One Linear Layer"): the codes are C W, a frozen
 * random codebook C [k, d] times one learned linear map W [d, d]. Every step
 * moves all codes together through W, not only those some vector chose, so
 * codes do not die the way a learned codebook's unused rows do.
 *
 * Nearest codes and the straight-through estimator are those of the VQ
 * (ops.ts snapToCodebook) against C W, and the loss is the paper's equation 3
 * with the codebook term reaching W:
 *
 *   loss = ||stopgrad(z_e) - C W||^2 + beta * ||z_e - stopgrad(C W)||^2
 *
 * C is drawn once from N(0, 1/d) (as lucidrains/vector-quantize-pytorch
 * sim_vq.py), never trained, and saved with the model (`frozen_codebook`) so a
 * loaded model has the same codes; W starts as PyTorch's nn.Linear (uniform
 * in +-1/sqrt(d)), without bias.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension, k - codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VariableMap } from '../model/layers.js';
import { mulberry32, nextSeed } from '../random.js';
import { Linear } from './linear.js';
import { codebookLossOutput } from './ops.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from './types.js';
import { checkInputs, checkQuantizerSizes, lookupCodes } from './vectorQuantizer.js';

export interface SimVqOptions {
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D: the last axis of the inputs. */
  codeDim: number;
  /** Commitment cost beta; 0.25 as the VQ. */
  beta?: number;
  /** Seed of C and of W's initialisation. */
  seed?: number;
  /** Variable name prefix. */
  name?: string;
}

export const SIMVQ_DEFAULTS = { beta: 0.25, seed: 0, name: 'quantizer' } as const;

export class SimVQ implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly beta: number;
  /** C [k, d]: the frozen random codebook (not the codes: those are `codes()` = C W). */
  readonly codebook: tf.Variable;
  /** W [d, d]. */
  readonly transform: Linear;
  readonly name: string;
  private readonly variables: VariableMap = new Map();

  constructor(options: SimVqOptions) {
    const { codebookSize, codeDim } = options;
    checkQuantizerSizes(codebookSize, codeDim);
    this.codebookSize = codebookSize;
    this.codeDim = codeDim;
    this.beta = options.beta ?? SIMVQ_DEFAULTS.beta;
    this.name = options.name ?? SIMVQ_DEFAULTS.name;
    const rng = mulberry32(options.seed ?? SIMVQ_DEFAULTS.seed);
    const frozen = tf.randomNormal([codebookSize, codeDim], 0, 1 / Math.sqrt(codeDim), 'float32', nextSeed(rng));
    this.codebook = tf.variable(frozen, false);
    frozen.dispose();
    this.transform = new Linear(codeDim, codeDim, this.variables, `${this.name}.code_transform`, rng, { bias: false });
  }

  /** The codes C W [k, d], differentiable w.r.t. W. */
  codes(): tf.Tensor2D {
    return this.transform.apply(this.codebook as tf.Tensor2D);
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    checkInputs(inputs, this.codeDim);
    return tf.tidy(() => ({ ...codebookLossOutput(inputs, this.codes(), this.beta) }));
  }

  update(): void {
    // W learns through `loss`; C never changes.
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    return tf.tidy(() => lookupCodes(this.codes(), indices, this.codebookSize, this.codeDim));
  }

  trainable(): Record<string, tf.Variable> {
    return Object.fromEntries(this.variables);
  }

  state(): Record<string, tf.Variable> {
    return { [`${this.name}.frozen_codebook`]: this.codebook, ...this.trainable() };
  }

  dispose(): void {
    this.codebook.dispose();
    for (const v of this.variables.values()) v.dispose();
  }
}
