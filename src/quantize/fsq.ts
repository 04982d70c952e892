/**
 * Finite scalar quantization (Mentzer et al. 2023, "Finite Scalar
 * Quantization: VQ-VAE Made Simple"): no learned codebook. Each vector is
 * projected to d = len(levels) scalars, each scalar i is bounded to L_i values
 * and rounded:
 *
 *   half_l  = (L - 1)(1 + eps) / 2,  offset = 0.5 for even L, else 0
 *   bounded = tanh(z + atanh(offset / half_l)) * half_l - offset
 *   code    = round_ste(bounded) / (L // 2)
 *
 * the bound of the paper's appendix A.1 as lucidrains/vector-quantize-pytorch
 * writes it (atanh for the shift, so bound(0) = 0; the half-offset makes an
 * even L give L values, e.g. L = 8: -4..3, L = 5: -2..2). round_ste is the
 * straight-through round, x + stopgrad(round(x) - x): the gradient passes
 * the rounding as if it were the identity, and only the bound shapes it.
 *
 * The implicit codebook is the grid of all K = prod(L_i) codes; the index of a
 * code is its mixed-radix number sum_i (round_i + L_i // 2) * prod_{j<i} L_j
 * (the first scalar varies fastest, as lucidrains's `codes_to_indices`), so
 * everything downstream works on single indices 0..K-1 as with a VQ.
 *
 * The model's code dimension D maps to d by a learned linear projection in
 * (D → d) and out (d → D), each with a bias, when D != d, as lucidrains does;
 * when D = d there are none and the quantized output is the grid code itself.
 * There is no auxiliary loss: `loss` is 0.
 *
 * Axis legend: b - batch, h, w - code grid, D - the model's code dimension,
 * d - len(levels), m - vectors (b * h * w), k - K codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { VariableMap } from '../model/layers.js';
import { mulberry32 } from '../random.js';
import { Linear } from './linear.js';
import { checkIndexRange, codeCounts, stopGradient, usageMetrics } from './ops.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from './types.js';
import { checkInputs } from './vectorQuantizer.js';

export interface FsqOptions {
  /** Levels per scalar, each an integer >= 2, e.g. [8, 5, 5, 5] (K = 1000). */
  levels: readonly number[];
  /** Code dimension D: the last axis of the inputs; projections map it to len(levels) unless equal. */
  codeDim: number;
  /** Seed of the projections' initialisation. */
  seed?: number;
  /** Variable name prefix. */
  name?: string;
}

export const FSQ_DEFAULTS = { seed: 0, name: 'quantizer', epsilon: 1e-3 } as const;

/** Throws a UserError unless `levels` are integers >= 2 whose product fits an int32 index. */
export function checkLevels(levels: readonly number[]): void {
  if (levels.length === 0 || !levels.every((l) => Number.isInteger(l) && l >= 2)) {
    throw new UserError(`FSQ levels must be integers >= 2, found ${levels.join(',') || 'none'}`);
  }
  const k = levels.reduce((a, b) => a * b, 1);
  if (k > 2 ** 24) throw new UserError(`FSQ levels ${levels.join(',')} give ${k} codes; at most 2^24 are supported`);
}

export class FiniteScalarQuantizer implements Quantizer {
  readonly levels: readonly number[];
  readonly codebookSize: number;
  readonly codeDim: number;
  /** The implicit codebook: every grid code [k, d] in index order (d = len(levels)); constant, not saved. */
  readonly codebook: tf.Variable;
  readonly name: string;
  /** D → d and d → D, when D != d. */
  readonly projectIn?: Linear;
  readonly projectOut?: Linear;
  private readonly variables: VariableMap = new Map();
  /** Per scalar, as float32 (the ONNX export uses the same values): half_l, atanh shift, offset, L // 2. */
  readonly halfL: Float32Array;
  readonly shift: Float32Array;
  readonly offset: Float32Array;
  readonly halfWidth: Float32Array;
  /** Per scalar: the mixed-radix place value prod_{j<i} L_j. */
  readonly basis: number[];

  constructor(options: FsqOptions) {
    checkLevels(options.levels);
    const levels = options.levels.slice();
    const { codeDim } = options;
    if (!Number.isInteger(codeDim) || codeDim < 1) {
      throw new UserError(`code dimension must be an integer >= 1, found ${codeDim}`);
    }
    this.levels = levels;
    this.codeDim = codeDim;
    this.codebookSize = levels.reduce((a, b) => a * b, 1);
    this.name = options.name ?? FSQ_DEFAULTS.name;
    const eps = FSQ_DEFAULTS.epsilon;
    this.halfL = Float32Array.from(levels, (l) => ((l - 1) * (1 + eps)) / 2);
    this.offset = Float32Array.from(levels, (l) => (l % 2 === 0 ? 0.5 : 0));
    this.shift = Float32Array.from(levels, (_, i) => Math.atanh(this.offset[i]! / this.halfL[i]!));
    this.halfWidth = Float32Array.from(levels, (l) => Math.floor(l / 2));
    this.basis = [];
    let place = 1;
    for (const l of levels) {
      this.basis.push(place);
      place *= l;
    }
    const d = levels.length;
    if (codeDim !== d) {
      const rng = mulberry32(options.seed ?? FSQ_DEFAULTS.seed);
      this.projectIn = new Linear(codeDim, d, this.variables, `${this.name}.project_in`, rng);
      this.projectOut = new Linear(d, codeDim, this.variables, `${this.name}.project_out`, rng);
    }
    const all = Int32Array.from({ length: this.codebookSize }, (_, i) => i);
    this.codebook = tf.variable(tf.tensor2d(this.gridCodes(all), [this.codebookSize, d]), false);
  }

  /** The grid code [len(levels)] of each index, row after row, in float32. */
  gridCodes(indices: ArrayLike<number>): Float32Array {
    const d = this.levels.length;
    const out = new Float32Array(indices.length * d);
    for (let i = 0; i < indices.length; i++) {
      for (let c = 0; c < d; c++) {
        const level = Math.floor(indices[i]! / this.basis[c]!) % this.levels[c]!;
        out[i * d + c] = (level - this.halfWidth[c]!) / this.halfWidth[c]!;
      }
    }
    return out;
  }

  /** The bounded scalars, before rounding: z [m, d] → (-L/2, L/2) per scalar. */
  bound(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const t = tf.tanh(tf.add(z, tf.tensor1d(this.shift)));
      return tf.sub(tf.mul(t, tf.tensor1d(this.halfL)), tf.tensor1d(this.offset)) as tf.Tensor2D;
    });
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    checkInputs(inputs, this.codeDim);
    return tf.tidy(() => {
      const [b, h, w, D] = inputs.shape;
      const flat = tf.reshape(inputs, [-1, D]) as tf.Tensor2D;
      const z = this.projectIn ? this.projectIn.apply(flat) : flat;
      const bounded = this.bound(z);
      const rounded = tf.round(bounded);
      // round_ste: exactly round(bounded) forward (|bounded - round| <= 0.5, so the sum is exact).
      const straightThrough = tf.add(bounded, stopGradient(tf.sub(rounded, bounded)));
      const halfWidth = tf.tensor1d(this.halfWidth);
      const codes = tf.div(straightThrough, halfWidth) as tf.Tensor2D;
      const out = this.projectOut ? this.projectOut.apply(codes) : codes;
      const indices = this.indicesOf(rounded);
      const commitmentLoss = tf.mean(tf.squaredDifference(flat, stopGradient(out))) as tf.Scalar;
      return {
        quantized: tf.reshape(out, [b, h, w, D]) as tf.Tensor4D,
        indices: tf.reshape(indices, [b, h, w]) as tf.Tensor3D,
        loss: tf.scalar(0),
        commitmentLoss,
        ...usageMetrics(codeCounts(indices, this.codebookSize)),
      };
    });
  }

  /** Mixed-radix indices int32 [m] of rounded scalars [m, d]; off the gradient tape. */
  private indicesOf(rounded: tf.Tensor2D): tf.Tensor1D {
    const values = rounded.dataSync();
    const d = this.levels.length;
    const m = values.length / d;
    const out = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      let index = 0;
      for (let c = 0; c < d; c++) {
        const level = Math.min(this.levels[c]! - 1, Math.max(0, values[i * d + c]! + this.halfWidth[c]!));
        index += level * this.basis[c]!;
      }
      out[i] = index;
    }
    return tf.tensor1d(out, 'int32');
  }

  update(): void {
    // Nothing learns outside the gradient.
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    if (indices.rank !== 3) {
      throw new Error(`indices must be [batch, height, width], found [${indices.shape.join(', ')}]`);
    }
    const values = indices.dataSync();
    checkIndexRange(values, this.codebookSize);
    return tf.tidy(() => {
      const [b, h, w] = indices.shape;
      const codes = tf.tensor2d(this.gridCodes(values), [values.length, this.levels.length]);
      const out = this.projectOut ? this.projectOut.apply(codes) : codes;
      return tf.reshape(out, [b, h, w, this.codeDim]) as tf.Tensor4D;
    });
  }

  trainable(): Record<string, tf.Variable> {
    return Object.fromEntries(this.variables);
  }

  state(): Record<string, tf.Variable> {
    return this.trainable();
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.codebook.dispose();
  }
}
